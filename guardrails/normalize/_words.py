"""The small English vocabulary the views read words by (leet folding, word splitting, rot13 detection), and a run of
letters split into its words."""

from __future__ import annotations

# Common English words (and the words of the requests the policy is about): what leet folding, word
# splitting and rot13 detection read as English. Lowercase; the plural in "s" of a word of three letters
# or more is also accepted.
_VOCAB = frozenset(
    """
    a ab about above abuse across act action actually add addict address after again against age ago agree air
    all almost alone along already also although always am ammo ammunition among amount an and anger angry
    animal another answer anthrax any anyone anything anyway apart app are area arm army around arrest arson art
    article as ask asked asking assault at attack attacks aunt away baby back bad bag ball bank bar base
    bathroom be beat beautiful became because become bed been before began begin behind being believe below best
    better between big bill bit black blackmail bleach blood blow blue board boat body bomb bombing bombs bone
    book border born boss both bottle box boy brain break breath bridge bring brother brought bs build building
    built bullet bullets burglary burn bus business but buy by bypass call called came camera can cannabis car
    card care carry case cash cat catch cause cell chance change cheap check chemical chemicals child children
    choose church cipher city class clean clear close cocaine code cold college color come comes coming company
    computer cook cool cop cops copy cost could counterfeit country couple course court cover crack crash crazy
    create credit crime criminal cry cut cyanide dad danger dangerous dark data date daughter day days dead deal
    dear death decide decode decoded deep deny did die died different difficult dinner do doctor does dog doing
    dollar done door down drink drive drop drown drug drugs drunk during each early easy eat ecstasy either else
    email encode encoded end enemy enough even evening event ever every everyone everything evil exactly example
    explain explode exploit explosion explosive explosives extort eye eyes face fact fail fake fall false family
    far fast father fear feel feeling fentanyl fertilizer few fight file find fine fire firearm first fish five
    food for force forge forget form found four fraud free friend friends from front full fun fund fur future
    game gang gas gave gel get gets getting girl give given glass go god goes going gone good got government
    great green grenade ground group grow gun guns guy hack hacked hacker hacking had hair half hand hands hang
    happen happy harass hard harm has hate have having he head health hear heard heart hello help her here
    heroin herself hey hi hidden hide high him himself his history hit hold home hope horse hospital hostage hot
    hour hours house how however human hundred hurt husband i idea if ill illegal important in inside instead
    instructions into is it its itself job join just keep kept key keys kid kidnap kidnapping kids kill killed
    killing kind knew knife know known lab lady land language large last late later launder laundering law learn
    least leave left leg legal less let lethal letter life light like line list listen little live lives living
    lock long look looking lose lost lot love low mad made mail make making malware man many map marijuana mark
    market massacre matter may maybe me mean meet men message met meth methamphetamine method might mind mine
    minute miss molotov mom money month more morning most mother move much murder music must my myself name nazi
    near need needs neighbor neighbour never new news next nice night nitrate no nobody none not note nothing
    now nude number of off office often oh oil ok okay old on once one only open opioid or order other others
    our out outside over overdose own page pain paper parent parents part party pass password passwords past pay
    people person phishing phone pick picture piece pill pills pipe pistol place plan plant play please png
    point poison poisoned poisoning police poor porn possible power press pretty price private problem program
    public pull put puzzle question quick quickly quite race ransom ransomware rape rather read ready real
    really reason red remember rest rich ricin rifle right river road rob rock room rule run safe said same saw
    say says scam school science second secret see seem seen self sell send sense set seven sex sha shall she
    ship shoot shooter shooting shop shoplift short shot should show shut sick side sign simple since sister sit
    six skill skin sleep small smell smuggle so some someone something sometimes son soon sorry sound speak
    special spend stab stalk stalking stand start state stay steal stealing step steps still stole stolen stop
    store story strangle street strong student study stuff such suicidal suicide sure system table take taken
    talk tax teach teacher tell ten terra terror terrorist test than thank thanks that the theft their them then
    there these they thief thing things think third this those though thought three through throw time tired to
    today together told tomorrow too took top toward town toxic trade traffick trafficking train translate tree
    trip true trust truth try turn two under understand until up upon ur us use used user using usually very
    view virus visit voice wait walk wall want wanted war was watch water way ways we weapon weapons weed week
    weight well went were what when where whether which while white who whole whom whose why wife will win
    window wish with within without woman women word words work world worry would wrist write wrong yeah year
    years yes yesterday yet you young your yours yourself
    """.split()  # noqa: SIM905 - a readable word list
)
_WORDS = _VOCAB | frozenset(w + "s" for w in _VOCAB if len(w) > 2)  # with plurals


def _is_word(word: str) -> bool:
    return word.lower() in _WORDS


#: the longest word of the vocabulary looked for when a run is split into words
_MAX_VOCAB_WORD = 16


def _split_words(word: str) -> str | None:
    """``word`` split into English words (fewest words wins), or None when it does not read as English."""
    n = len(word)
    low = word.lower()
    unreachable = n + 1
    best = [0] + [unreachable] * n  # best[i]: fewest words spelling word[:i]
    back = [0] * (n + 1)
    for i in range(1, n + 1):
        for j in range(max(0, i - _MAX_VOCAB_WORD), i):
            if best[j] + 1 < best[i] and (i - j > 1 or low[j] in "ai") and low[j:i] in _WORDS:
                best[i], back[i] = best[j] + 1, j
    if best[n] == unreachable:
        return None
    parts: list[str] = []
    i = n
    while i > 0:
        parts.append(word[back[i] : i])
        i = back[i]
    return " ".join(reversed(parts))
