/** Device check: camera preview, live microphone level, device choice and a test recording. */

import { Recorder, constraints, pickMimeType } from "./recorder.js";

const SETTINGS_KEY = "interview-devices";

export function savedSettings() {
  try {
    return JSON.parse(localStorage.getItem(SETTINGS_KEY)) || {};
  } catch {
    return {};
  }
}

function saveSettings(settings) {
  try {
    localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings));
  } catch {
    /* private mode: the choice is only for this visit */
  }
}

/** What to tell the person when the browser refuses the camera or microphone. */
export function explain(error) {
  const name = error && error.name;
  if (name === "NotAllowedError" || name === "SecurityError" || name === "PermissionDeniedError") {
    return {
      title: "Your browser blocked the camera and microphone",
      text:
        "To record your answers this page needs your camera and microphone. Click the camera " +
        "icon in the address bar (or open the site settings), allow the camera and microphone " +
        "for this site, then press “Try again”. On a phone, check the browser's permissions in " +
        "your phone's settings.",
    };
  }
  if (name === "NotFoundError" || name === "OverconstrainedError" || name === "DevicesNotFoundError") {
    return {
      title: "No camera or microphone was found",
      text:
        "Connect a camera and a microphone (or use a device that has them), then press " +
        "“Try again”. If you chose a device that was unplugged, pick another one.",
    };
  }
  if (name === "NotReadableError" || name === "TrackStartError") {
    return {
      title: "Your camera or microphone is busy",
      text:
        "Another application (a video call, perhaps) is using it. Close that application, " +
        "then press “Try again”.",
    };
  }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    return {
      title: "This browser cannot record",
      text: "Open this link in a recent Chrome, Edge, Firefox or Safari.",
    };
  }
  return {
    title: "The camera and microphone could not be started",
    text: `${(error && error.message) || "Unknown error"}. Press “Try again”, or try another browser.`,
  };
}

export async function acquire(settings) {
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    throw Object.assign(new Error("getUserMedia is not available"), { name: "NotSupportedError" });
  }
  return navigator.mediaDevices.getUserMedia(constraints(settings));
}

export function stopStream(stream) {
  if (stream) for (const track of stream.getTracks()) track.stop();
}

/** A live level (0..1) of the stream's microphone, drawn into a <meter>. */
export class LevelMeter {
  constructor(meter) {
    this.meter = meter;
    this.context = null;
    this.frame = null;
  }

  attach(stream) {
    this.detach();
    if (!stream.getAudioTracks().length || typeof AudioContext === "undefined") return;
    this.context = new AudioContext();
    const source = this.context.createMediaStreamSource(stream);
    const analyser = this.context.createAnalyser();
    analyser.fftSize = 1024;
    source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    this.context.resume().catch(() => {});
    // Firefox (and Safari) keep an AudioContext suspended until the person interacts with the
    // page; the meter would stay flat although the microphone works. Resume on the first touch.
    if (this.context.state !== "running") {
      const context = this.context;
      const wake = () => context.resume().catch(() => {});
      for (const type of ["pointerdown", "keydown"]) {
        document.addEventListener(type, wake, { once: true, capture: true });
      }
    }
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const rms = Math.sqrt(sum / samples.length);
      const level = Math.min(1, rms * 4);
      this.meter.value = level;
      this.meter.dataset.level = level.toFixed(3);
      this.frame = requestAnimationFrame(draw);
    };
    draw();
  }

  detach() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = null;
    if (this.context) this.context.close().catch(() => {});
    this.context = null;
  }
}

/** The device-check panel (markup rendered by the server in interview.html). */
export class DeviceCheck {
  constructor(root, { audioOnlyAllowed }) {
    this.root = root;
    this.el = (id) => root.querySelector(`#${id}`);
    this.audioOnlyAllowed = audioOnlyAllowed;
    this.settings = { cameraId: null, micId: null, audioOnly: false, ...savedSettings() };
    if (!audioOnlyAllowed) this.settings.audioOnly = false;
    this.stream = null;
    this.meter = new LevelMeter(this.el("dc-level"));
    this.testUrl = null;
  }

  /** Resolves with {stream, settings} when the person continues. */
  run() {
    this.root.hidden = false;
    this.el("dc-title").focus();
    const audioOnly = this.el("dc-audio-only");
    if (audioOnly) audioOnly.checked = this.settings.audioOnly;
    return new Promise((resolve) => {
      this.el("dc-start").addEventListener("click", () => this.turnOn());
      this.el("dc-retry").addEventListener("click", () => this.turnOn());
      this.el("dc-camera").addEventListener("change", () => this.choose());
      this.el("dc-mic").addEventListener("change", () => this.choose());
      if (audioOnly) audioOnly.addEventListener("change", () => this.choose());
      this.el("dc-test").addEventListener("click", () => this.testRecording());
      this.el("dc-continue").addEventListener("click", () => {
        saveSettings(this.settings);
        this.meter.detach();
        if (this.testUrl) URL.revokeObjectURL(this.testUrl);
        this.root.hidden = true;
        resolve({ stream: this.stream, settings: { ...this.settings } });
      });
    });
  }

  async turnOn() {
    this.el("dc-denied").hidden = true;
    this.el("dc-start").disabled = true;
    this.el("dc-retry").disabled = true;
    try {
      stopStream(this.stream);
      this.stream = await acquire(this.settings);
    } catch (error) {
      if (this.settings.cameraId || this.settings.micId) {
        // A remembered device may be gone: fall back to the defaults once.
        this.settings.cameraId = this.settings.micId = null;
        try {
          this.stream = await acquire(this.settings);
        } catch (second) {
          return this.refused(second);
        }
      } else {
        return this.refused(error);
      }
    }
    this.el("dc-start").hidden = true;
    this.el("dc-retry").disabled = false;
    this.el("dc-live").hidden = false;
    await this.show();
    await this.listDevices();
    this.el("dc-test").focus();
  }

  refused(error) {
    let { title, text } = explain(error);
    this.el("dc-denied-title").textContent = title;
    if (this.audioOnlyAllowed && error && error.name === "NotFoundError" && !this.settings.audioOnly) {
      text += " This interview also accepts answers recorded with the microphone only: press “Try again” to use just your microphone.";
      this.settings.audioOnly = true; // the next attempt asks for the microphone only
      const box = this.el("dc-audio-only");
      if (box) box.checked = true;
    }
    this.el("dc-denied-text").textContent = text;
    this.el("dc-denied").hidden = false;
    this.el("dc-retry").disabled = false;
    this.el("dc-start").hidden = true;
    this.el("dc-live").hidden = true;
    this.el("dc-denied").focus();
  }

  async show() {
    const preview = this.el("dc-preview");
    const hasVideo = this.stream.getVideoTracks().length > 0;
    preview.hidden = !hasVideo;
    this.el("dc-audio-note").hidden = hasVideo;
    preview.srcObject = hasVideo ? this.stream : null;
    if (hasVideo) preview.play().catch(() => {});
    this.meter.attach(this.stream);
  }

  async listDevices() {
    const devices = await navigator.mediaDevices.enumerateDevices();
    const fill = (select, kind, current) => {
      select.replaceChildren();
      let n = 0;
      for (const device of devices.filter((d) => d.kind === kind)) {
        n += 1;
        const option = document.createElement("option");
        option.value = device.deviceId;
        option.textContent = device.label || `${kind === "videoinput" ? "Camera" : "Microphone"} ${n}`;
        option.selected = device.deviceId === current;
        select.append(option);
      }
      select.disabled = n < 2;
    };
    const track = (kind) => this.stream.getTracks().find((t) => t.kind === kind);
    const activeCamera = track("video")?.getSettings().deviceId;
    const activeMic = track("audio")?.getSettings().deviceId;
    fill(this.el("dc-camera"), "videoinput", activeCamera);
    fill(this.el("dc-mic"), "audioinput", activeMic);
    this.el("dc-camera").disabled ||= this.settings.audioOnly;
  }

  async choose() {
    const audioOnly = this.el("dc-audio-only");
    this.settings = {
      cameraId: this.el("dc-camera").value || null,
      micId: this.el("dc-mic").value || null,
      audioOnly: Boolean(audioOnly && audioOnly.checked),
    };
    try {
      stopStream(this.stream);
      this.stream = await acquire(this.settings);
      await this.show();
      await this.listDevices();
    } catch (error) {
      this.refused(error);
    }
  }

  async testRecording() {
    const button = this.el("dc-test");
    const status = this.el("dc-test-status");
    const playback = this.el("dc-playback");
    const mimeType = pickMimeType(this.settings.audioOnly);
    if (!mimeType) {
      status.textContent = "This browser cannot record in a format we accept. Try another browser.";
      return;
    }
    button.disabled = true;
    const parts = [];
    const recorder = new Recorder(this.stream, mimeType);
    status.textContent = "Recording a 3-second test… say something.";
    const stopped = recorder.start((blob) => parts.push(blob), 500);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await recorder.stop();
    await stopped;
    if (this.testUrl) URL.revokeObjectURL(this.testUrl);
    this.testUrl = URL.createObjectURL(new Blob(parts, { type: mimeType }));
    playback.src = this.testUrl;
    playback.classList.toggle("media-audio", mimeType.startsWith("audio/"));
    playback.hidden = false;
    status.textContent = "Test recorded. Play it back to check the picture and the sound.";
    button.disabled = false;
    button.textContent = "Record another test";
  }
}
