// Package wav reads and writes RIFF/WAVE audio files.
//
// It owns the byte layout of WAV files: decoding PCM files (including
// WAVE_FORMAT_EXTENSIBLE, extra chunks and odd-size padding) with errors that
// name what is wrong, a streaming Writer for 16-bit PCM recordings whose
// header sizes are fixed on Close, and Repair for recordings cut short
// before Close ran.
//
// It must not resample, convert or encode audio, and it must not log: it
// returns errors and leaves reporting to its callers.
//
// It must not import media or spool.
package wav
