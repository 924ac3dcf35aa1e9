#!/usr/bin/env bash
# Makes a small real-audio keyword-spotting dataset in the Speech Commands layout: one folder
# per word of 1 s, 16 kHz, mono, 16-bit WAV clips spoken by espeak-ng (several voices, speeds
# and pitches; a "speaker" is one voice/speed/pitch, named like the dataset's
# <speaker>_nohash_<n>.wav so that its split rule keeps a speaker's clips together), and
# _background_noise_/ with noise made by sox. No list files: the split is the hash rule.
#
#   tests/tools/make_kws_dataset.sh OUT_DIR [voices]
#
# voices: how many of the voices to use (1-6, default 4); each gives 3 speeds x 3 pitches.
set -euo pipefail
out=${1:?usage: make_kws_dataset.sh OUT_DIR [voices]}
nvoices=${2:-4}
for tool in espeak-ng sox; do
  command -v "$tool" >/dev/null || { echo "make_kws_dataset: '$tool' is missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
done
voices=(en-us en+f3 en-gb-scotland en+m4 en-029 en+f2)
words=(yes no up down left right on off stop go bed bird cat dog house tree)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
rm -rf "$out.partial"
mkdir -p "$out.partial/_background_noise_"
for ((v = 0; v < nvoices; v++)); do
  voice=${voices[$v]}
  for speed in 130 160 190; do
    for pitch in 35 55 75; do
      speaker=$(printf '%s' "$voice/$speed/$pitch" | md5sum | cut -c1-8)
      # Where the word starts in its second: 50 to 250 ms, varied by speaker.
      lead=$(( (16#${speaker:0:4} % 5) * 50 + 50 ))
      for w in "${words[@]}"; do
        mkdir -p "$out.partial/$w"
        espeak-ng -v "$voice" -s "$speed" -p "$pitch" -w "$tmp/raw.wav" "$w"
        sox -V1 "$tmp/raw.wav" -r 16000 -c 1 -b 16 "$out.partial/$w/${speaker}_nohash_0.wav" \
          pad "0.$(printf '%03d' "$lead")" 1 trim 0 1
      done
    done
  done
done
sox -V1 -n -r 16000 -c 1 -b 16 "$out.partial/_background_noise_/pink_noise.wav" synth 6 pinknoise vol 0.5
sox -V1 -n -r 16000 -c 1 -b 16 "$out.partial/_background_noise_/brown_noise.wav" synth 6 brownnoise vol 0.5
rm -rf "$out"
mv "$out.partial" "$out"
echo "make_kws_dataset: $(find "$out" -name '*.wav' | wc -l) clips in $out"
