"""Command line: ``guardrails check | profiles | eval | models``.

Exit codes: 0 allowed/ok, 1 blocked or referred (``check``), 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from guardrails.errors import GuardrailsError, InputError

if TYPE_CHECKING:
    from guardrails.profiles import Profile

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")


def offline_unless_downloading(profile: str | Path) -> None:
    """No Hugging Face hub look-ups (the default for these commands: every model is local), unless the profile
    asks a detector to download what is missing (``download: true``). Set before anything imports the hub
    libraries, which read it once; ``guardrails models fetch`` never sets it."""
    from guardrails.profiles import load_profile

    try:
        wants = any(spec.options.get("download") is True for spec in load_profile(profile).detectors.values())
    except GuardrailsError:
        wants = False  # the command reports the profile's error itself
    if not wants:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guardrails", description="Usage-policy guardrails for LangChain chat apps.")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check one text and print the decision")
    check.add_argument("text", help="the text to check, or - to read stdin")
    check.add_argument("--profile", default="general", help="built-in profile name or YAML path (default: general)")
    check.add_argument("--stage", choices=("input", "output"), default="input")
    check.add_argument("--locale", default=None, help="BCP 47 locale for crisis resources, e.g. en-GB")
    check.add_argument("--json", action="store_true", help="print the decision as JSON (no raw text)")

    profiles = sub.add_parser("profiles", help="list or validate profiles")
    psub = profiles.add_subparsers(dest="profiles_command", required=True)
    psub.add_parser("list", help="list the built-in profiles")
    validate = psub.add_parser("validate", help="validate a profile file")
    validate.add_argument("file")

    sub.add_parser("eval", help="evaluate on a JSONL file (see `guardrails eval --help`)", add_help=False)
    sub.add_parser("models", help="which models are present; prepare offline folders", add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a terminal that is not UTF-8 still gets every referral, escaped
        reconfigure = getattr(stream, "reconfigure", None)
        if callable(reconfigure):
            reconfigure(errors="backslashreplace")
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] == "eval":
        from guardrails.evaluation.cli import main as eval_main

        return eval_main(args_list[1:])
    if args_list and args_list[0] == "models":
        from guardrails.models import main as models_main

        return models_main(args_list[1:])
    args = _parser().parse_args(args_list)
    try:
        if args.command == "check":
            return _check(args)
        if args.command == "profiles":
            return _profiles(args)
    except GuardrailsError as exc:
        print(f"guardrails: error: {exc}", file=sys.stderr)
        return 2
    return 2


def _check(args: argparse.Namespace) -> int:
    from guardrails.guard import Guard

    if args.text == "-":
        if sys.stdin is None:  # started with standard input closed
            raise InputError("check -: there is no standard input to read the text from")
        raw = sys.stdin.buffer.read()
        text = raw.decode("utf-8", errors="replace")
    else:
        text = args.text
    offline_unless_downloading(args.profile)
    guard = Guard.from_profile(args.profile)
    decision = guard.check(text, args.stage, locale=args.locale)
    try:
        if args.json:
            print(json.dumps(decision.to_dict(), indent=2, sort_keys=True))
        else:
            cats = ", ".join(decision.categories) or "-"
            print(f"action: {decision.action}  categories: {cats}")
            print(f"why: {decision.explanation}")
            shown = decision.response_text()
            if shown:
                print("\n" + shown)
            elif decision.text != text:
                print("\nredacted: " + decision.text)
            for d in decision.disclaimers:
                print("\ndisclaimer: " + d)
            for f in decision.failures:
                if f.unavailable:
                    print(f"detector unavailable: {f.detector}: {f.message}")
                else:
                    print(f"detector failure: {f.detector}: {f.message}")
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (`| head`): the exit code still says what was decided
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 1 if decision.action.name in ("BLOCK", "REFER") else 0


def _profiles(args: argparse.Namespace) -> int:
    from guardrails.profiles import builtin_profiles, load_profile

    if args.profiles_command == "list":
        for name in builtin_profiles():
            profile = load_profile(name)
            detectors = ", ".join(profile.detectors_for("input")) or "-"
            print(f"{name:12s} {profile.description}  [input detectors: {detectors}]")
        return 0
    if Path(args.file).is_dir():
        print(f"guardrails: error: {args.file} is a folder, not a profile file", file=sys.stderr)
        return 2
    profile = load_profile(args.file)
    audit = profile.audit.path
    warnings: list[str] = []
    if profile.audit.enabled and audit is not None:
        where = Path(audit).expanduser()  # as the guard reads it
        if where.is_dir():
            print(f"guardrails: error: audit.path: {audit} is a folder; name a file in it", file=sys.stderr)
            return 2
        if not where.parent.is_dir():  # valid where that folder exists; a guard built here refuses to start
            warnings.append(f"audit.path: the folder of {audit} does not exist on this machine")
    warnings += _missing_models(profile)
    print(f"ok: {args.file} (profile {profile.name!r}, detectors: {', '.join(profile.detectors) or '-'})")
    for warning in warnings:
        print(f"guardrails: warning: {warning}", file=sys.stderr)
    return 0


def _missing_models(profile: Profile) -> list[str]:
    """The machine-dependent gaps of ``profile`` a guard built here would start with: a spaCy model its PII
    detector names that is not installed (every check would then fail, and block)."""
    import importlib.util

    pii = profile.detectors.get("pii")
    options = getattr(pii, "options", None) or {}
    if not isinstance(options, dict) or options.get("pattern_only"):  # no model is loaded
        return []
    model = options.get("ner_model")
    if pii is None or not getattr(pii, "enabled", True) or not isinstance(model, str) or not model.strip():
        return []
    where = "detectors.pii.options.ner_model"
    if any(sep in model for sep in ("/", "\\")) or model.startswith((".", "~")):  # a folder spaCy loads
        if not Path(model).expanduser().is_dir():
            return [f"{where}: the folder {model} does not exist on this machine"]
        return []
    try:
        found = importlib.util.find_spec(model)
    except (ImportError, ValueError):  # a dotted name whose package is not installed
        found = None
    return [] if found is not None else [f"{where}: the spaCy model {model!r} is not installed on this machine"]


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
