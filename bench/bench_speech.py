"""Speech: transcription real-time factor (goal <= 0.1) and English word error rate (goal
<= 15%), against a decode-only baseline measured in the same run.

Sets:
1. Real human speech shipped in moonshine-voice (``moonshine_voice/assets``):
   ``two_cities.wav`` (44 s, the public-domain opening of A Tale of Two Cities; reference
   below) and ``beckett.wav`` (10 s; reference: the well-known "Worstward Ho" lines, which
   both Whisper and pocketsphinx, an independent recogniser, hear in this file).
2. espeak-ng sentences of the kind a body-worn recorder hears (16 kHz mono, 150 words a
   minute, voices en and en-us), clean and with white noise at 10 dB SNR. Their keyword
   phrases give keyword-spotting recall and false alarms.

3. Mandarin (``--zh``, on by default): 8 sentences spoken by espeak-ng from tone-numbered
   pinyin (voice ``cmn-latn-pinyin``, 130 words a minute; its ``cmn`` voice reads most Han
   characters letter by letter), transcribed by the multilingual Whisper base with
   ``language: zh`` (CER) and ``auto`` (how often Mandarin is detected).

Timed per file (wall clock, and the process's CPU time, which other load on the machine
inflates less), after one warm-up: the analyzer end to end (decode + VAD + transcription
+ keyword spotting: what a job runs) and the baseline, decoding the same file to 16 kHz
mono only. Printed: real-time factor (processing seconds / audio seconds) of both and
their ratio, and WER per set (corpus WER: errors / reference words, after ``wer.words``
normalisation); RTF of the short clips (at most 5 s) on their own; ``--full-window`` encodes
Whisper's whole 30 s window as before the trimmed encoder (the comparison for that fix).

Usage: ``.venv/bin/python bench/bench_speech.py [--short] [--beam 5] [--no-vad] [--no-zh]
[--full-window]``
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import tempfile
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citywitness.analysis import runtime, speech, speech_models, wer
from citywitness.analysis.media_source import AUDIO_RATE, MediaSource

TWO_CITIES = (
    "It was the best of times, it was the worst of times, it was the age of wisdom, it was"
    " the age of foolishness, it was the epoch of belief, it was the epoch of incredulity,"
    " it was the season of Light, it was the season of Darkness, it was the spring of hope,"
    " it was the winter of despair, we had everything before us, we had nothing before us,"
    " we were all going direct to Heaven, we were all going direct the other way - in"
    " short, the period was so far like the present period, that some of its noisiest"
    " authorities insisted on its being received, for good or for evil, in the superlative"
    " degree of comparison only."
)
BECKETT = "Ever tried. Ever failed. No matter. Try again. Fail again. Fail better."
SENTENCES = (
    "Drop the weapon and show me your hands.",
    "Shots fired, officer down, send help now.",
    "He has a knife, stay back.",
    "We have a male suspect running north on Main Street, requesting backup.",
    "Put the gun on the ground and step away from the car.",
    "Sir, I need you to stop and talk to me.",
    "Dispatch, the suspect vehicle is a blue sedan heading west.",
    "Help me, please, somebody help.",
    "Keep your hands where I can see them.",
    "The witness says the man ran into the park after the shooting.",
)
SHORT_SENTENCES = 3
SHORT_CLIP_S = 5.0
MANDARIN = (  # (reference, what espeak-ng is given: tone-numbered pinyin)
    ("放下武器，举起手来。", "fang4 xia4 wu3 qi4, ju3 qi3 shou3 lai2."),
    ("救命，有人抢劫。", "jiu4 ming4, you3 ren2 qiang3 jie2."),
    ("他有刀，大家退后。", "ta1 you3 dao1, da4 jia1 tui4 hou4."),
    ("嫌疑人往北跑了，请求支援。", "xian2 yi2 ren2 wang3 bei3 pao3 le5, qing3 qiu2 zhi1 yuan2."),
    ("请出示你的身份证。", "qing3 chu1 shi4 ni3 de5 shen1 fen4 zheng4."),
    ("蓝色轿车向西开走了。", "lan2 se4 jiao4 che1 xiang4 xi1 kai1 zou3 le5."),
    ("警察，不许动。", "jing3 cha2, bu4 xu3 dong4."),
    ("我需要你停下来和我谈谈。", "wo3 xu1 yao4 ni3 ting2 xia4 lai2 he2 wo3 tan2 tan2."),
)


@dataclass(frozen=True)
class Clip:
    name: str
    path: Path
    reference: str


@dataclass(frozen=True)
class Result:
    clip: Clip
    seconds: float
    decode_s: float
    analyse_s: float
    analyse_cpu_s: float
    hypothesis: str
    keywords: list[str]
    languages: list[str]


def moonshine_clips() -> list[Clip]:
    spec = importlib.util.find_spec("moonshine_voice")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("moonshine-voice is not installed: no real speech to measure")
    assets = Path(next(iter(spec.submodule_search_locations))) / "assets"
    return [
        Clip("two_cities", assets / "two_cities.wav", TWO_CITIES),
        Clip("beckett", assets / "beckett.wav", BECKETT),
    ]


def _write_wav(path: Path, samples: np.ndarray) -> Path:  # type: ignore[type-arg]
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(AUDIO_RATE)
        out.writeframes(pcm.tobytes())
    return path


def espeak_clips(folder: Path, count: int, *, noisy: bool) -> list[Clip]:
    rng = np.random.default_rng(7)
    clips = []
    for index, text in enumerate(SENTENCES[:count]):
        voice = "en" if index % 2 == 0 else "en-us"
        raw = folder / f"raw{index}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", "150", "-w", str(raw), text], check=True)
        audio = MediaSource(raw).audio()
        if noisy:
            power = float(np.mean(audio**2))
            audio = audio + rng.normal(0, np.sqrt(power / 10), audio.size).astype(np.float32)
        tag = "noisy" if noisy else "clean"
        clips.append(Clip(f"{tag}{index}", _write_wav(folder / f"{tag}{index}.wav", audio), text))
    return clips


def measure(analyzer: speech.SpeechAnalyzer, clip: Clip) -> Result:
    start = time.perf_counter()
    audio = MediaSource(clip.path).audio()
    decode_s = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    found = list(analyzer.analyze(MediaSource(clip.path)))
    analyse_s, analyse_cpu_s = time.perf_counter() - start, time.process_time() - cpu
    text = " ".join(str(f.attributes["text"]) for f in found if f.label == "speech")
    keywords = [str(f.attributes["phrase"]) for f in found if f.label == "keyword"]
    languages = [str(f.attributes["language"]) for f in found if f.label == "speech"]
    seconds = audio.size / AUDIO_RATE
    joined = "".join(text.split()) if clip.name.startswith("zh") else text
    return Result(clip, seconds, decode_s, analyse_s, analyse_cpu_s, joined, keywords, languages)


def mandarin_clips(folder: Path) -> list[Clip]:
    clips = []
    for index, (reference, pinyin) in enumerate(MANDARIN):
        path = folder / f"zh{index}.wav"
        voice = ["espeak-ng", "-v", "cmn-latn-pinyin", "-s", "130", "-w", str(path), pinyin]
        subprocess.run(voice, check=True)
        clips.append(Clip(f"zh{index}", path, reference))
    return clips


def report(title: str, results: list[Result], *, verbose: bool) -> None:
    seconds = sum(r.seconds for r in results)
    analyse = sum(r.analyse_s for r in results)
    decode = sum(r.decode_s for r in results)
    cpu = sum(r.analyse_cpu_s for r in results)
    chinese = results[0].clip.name.startswith("zh")
    score = wer.corpus_characters if chinese else wer.corpus
    counts = score((r.clip.reference, r.hypothesis) for r in results)
    print(
        f"{title:26s} audio {seconds:5.1f} s  RTF {analyse / seconds:.3f}"
        f" (CPU time {cpu / seconds:.3f})"
        f" (decode only {decode / seconds:.4f}; ratio {analyse / max(decode, 1e-9):5.0f}x)"
        f"  {'CER' if chinese else 'WER'} {counts.wer:6.2%}"
        f" ({counts.errors}/{counts.reference_words}:"
        f" S{counts.substitutions} D{counts.deletions} I{counts.insertions})"
    )
    if verbose:
        for r in results:
            one = (wer.measure_characters if chinese else wer.measure)(
                r.clip.reference, r.hypothesis
            )
            print(
                f"    {r.clip.name:10s} {r.seconds:4.1f} s RTF {r.analyse_s / r.seconds:.3f}"
                f" {'CER' if chinese else 'WER'} {one.wer:6.2%} {','.join(r.languages)}"
            )
            print(f"      heard: {r.hypothesis}")


def keyword_scores(config: speech.SpeechConfig, results: list[Result]) -> tuple[int, int, int]:
    """(expected, spotted, false alarms) over clips with a known text."""
    expected = spotted = false = 0
    for r in results:
        ref_words = [speech.Word(w, 0, 0, 1) for w in wer.words(r.clip.reference)]
        wanted = sorted(hit.phrase for hit in speech.spot(config.keywords, ref_words))
        heard = list(r.keywords)
        expected += len(wanted)
        for phrase in wanted:
            if phrase in heard:
                heard.remove(phrase)
                spotted += 1
        false += len(heard)
    return expected, spotted, false


def mandarin(args: argparse.Namespace, folder: Path) -> None:
    """CER with language zh, and Mandarin detection with auto (multilingual base)."""
    start = time.perf_counter()
    speech.load_model(multilingual=True)
    print(
        f"multilingual whisper-base load (join and hash check) {time.perf_counter() - start:.2f} s"
    )
    clips = mandarin_clips(folder)
    for language in ("zh", "auto"):
        config = speech.SpeechConfig(language=language, beam_size=args.beam, vad=not args.no_vad)
        analyzer = speech.SpeechAnalyzer(config)
        measure(analyzer, clips[0])  # warm-up
        results = [measure(analyzer, c) for c in clips]
        report(f"Mandarin espeak, {language}", results, verbose=args.verbose)
        if language == "auto":
            zh = sum(1 for r in results if r.languages and set(r.languages) == {"zh"})
            print(f"auto: Mandarin detected on {zh}/{len(results)} clips")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--short", action="store_true", help=f"{SHORT_SENTENCES} sentences")
    parser.add_argument("--beam", type=int, default=5, help="beam size")
    parser.add_argument("--no-vad", action="store_true", help="transcribe without the VAD")
    parser.add_argument("--no-zh", action="store_true", help="skip the Mandarin set")
    parser.add_argument(
        "--full-window", action="store_true", help="encode whole 30 s windows (the old way)"
    )
    parser.add_argument("--verbose", action="store_true", help="every clip's transcript")
    args = parser.parse_args()
    if args.full_window:
        speech_models.MIN_WINDOW_FRAMES = speech_models.FULL_WINDOW_FRAMES
    config = speech.SpeechConfig(beam_size=args.beam, vad=not args.no_vad)
    analyzer = speech.SpeechAnalyzer(config)
    where, compute_type = speech.device()
    print(
        f"model whisper-tiny.en on {where} ({compute_type}), threads"
        f" {runtime.options().threads or os.cpu_count()}, beam {config.beam_size},"
        f" vad {config.vad}, encoder window"
        f" {'30 s always' if args.full_window else 'trimmed to the content'}"
    )
    start = time.perf_counter()
    speech.load_model()
    print(f"model load (hash check included) {time.perf_counter() - start:.2f} s")
    count = SHORT_SENTENCES if args.short else len(SENTENCES)
    with tempfile.TemporaryDirectory(prefix="cw-bench-speech-") as tmp:
        real = moonshine_clips()
        clean = espeak_clips(Path(tmp), count, noisy=False)
        noisy = espeak_clips(Path(tmp), count, noisy=True)
        measure(analyzer, real[1])  # warm-up
        sets = {
            "real speech (moonshine)": [measure(analyzer, c) for c in real],
            "espeak-ng clean": [measure(analyzer, c) for c in clean],
            "espeak-ng noise 10 dB SNR": [measure(analyzer, c) for c in noisy],
        }
        for title, results in sets.items():
            report(title, results, verbose=args.verbose)
        everything = [r for results in sets.values() for r in results]
        total = sum(r.analyse_s for r in everything) / sum(r.seconds for r in everything)
        short = [r for r in everything if r.seconds <= SHORT_CLIP_S]
        short_rtf = sum(r.analyse_s for r in short) / max(sum(r.seconds for r in short), 1e-9)
        short_cpu = sum(r.analyse_cpu_s for r in short) / max(sum(r.seconds for r in short), 1e-9)
        print(f"overall RTF {total:.3f} (goal <= 0.1)")
        print(
            f"short clips (<= {SHORT_CLIP_S:.0f} s, {len(short)} clips) RTF {short_rtf:.3f}"
            f" (CPU time {short_cpu:.3f})"
        )
        for title in ("espeak-ng clean", "espeak-ng noise 10 dB SNR"):
            expected, spotted, false = keyword_scores(config, sets[title])
            print(f"keywords, {title}: {spotted}/{expected} spotted, {false} false alarms")
        if not args.no_zh:
            mandarin(args, Path(tmp))


if __name__ == "__main__":
    main()
