/** MediaRecorder wrapper: picks a container the server accepts and hands out ~1 s chunks. */

import { _ } from "./i18n.js";

export const VIDEO_TYPES = [
  "video/x-matroska;codecs=avc1,opus",
  "video/webm;codecs=h264,opus",
  "video/webm;codecs=vp9,opus",
  "video/webm;codecs=vp8,opus",
  "video/webm",
  "video/mp4", // Safari (iPhone) records only MP4; the server accepts it
];
export const AUDIO_TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4"];

export const TIMESLICE_MS = 1000;

export function pickMimeType(audioOnly) {
  if (typeof MediaRecorder === "undefined") return null;
  const candidates = audioOnly ? AUDIO_TYPES : VIDEO_TYPES;
  return candidates.find((type) => MediaRecorder.isTypeSupported(type)) || null;
}

/** Camera/microphone constraints up to 1280x720 for the chosen devices. */
export function constraints({ cameraId = null, micId = null, audioOnly = false } = {}) {
  const audio = micId ? { deviceId: { exact: micId } } : true;
  if (audioOnly) return { audio, video: false };
  const video = {
    width: { ideal: 1280, max: 1280 },
    height: { ideal: 720, max: 720 },
    frameRate: { ideal: 30, max: 30 },
  };
  if (cameraId) video.deviceId = { exact: cameraId };
  return { audio, video };
}

/**
 * Records `stream`; `onChunk(blob)` is called for every non-empty chunk, in order, and
 * `stop()` resolves once the last chunk was handed out.
 */
export class Recorder {
  constructor(stream, mimeType) {
    this.stream = stream;
    this.mimeType = mimeType;
    this.recorder = null;
    this.stopped = null;
  }

  start(onChunk, timeslice = TIMESLICE_MS) {
    const recorder = new MediaRecorder(this.stream, {
      mimeType: this.mimeType,
      videoBitsPerSecond: 1_500_000,
      audioBitsPerSecond: 96_000,
    });
    this.recorder = recorder;
    this.stopped = new Promise((resolve, reject) => {
      recorder.addEventListener("dataavailable", (event) => {
        if (event.data && event.data.size > 0) onChunk(event.data);
      });
      recorder.addEventListener("stop", () => resolve());
      recorder.addEventListener("error", (event) => reject(event.error || new Error(_("recording failed"))));
    });
    recorder.start(timeslice);
    return this.stopped;
  }

  get recording() {
    return this.recorder !== null && this.recorder.state === "recording";
  }

  async stop() {
    if (this.recorder && this.recorder.state !== "inactive") this.recorder.stop();
    return this.stopped;
  }
}
