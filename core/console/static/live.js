/* The Live page: camera frames (JPEG) and microphone PCM to WS /v1/stream/video, its answers drawn back.
   Binary messages: kind (0x01 frame, 0x02 audio) + 8-byte big-endian timestamp (ms) + payload
   (docs/streaming.md). The round trip of a frame is measured here, from sending it to its `frame` answer. */
(function () {
  "use strict";

  var WINDOW = 60; // seconds the V/A/D plot keeps
  var COLOURS = { valence: "#2f7d32", arousal: "#c75b00", dominance: "#3559b5" };

  function header(kind, ts) {
    var head = new DataView(new ArrayBuffer(9));
    head.setUint8(0, kind);
    head.setBigUint64(1, BigInt(Math.max(0, Math.round(ts))));
    return head.buffer;
  }

  function joined(head, body) {
    var out = new Uint8Array(head.byteLength + body.byteLength);
    out.set(new Uint8Array(head), 0);
    out.set(new Uint8Array(body), head.byteLength);
    return out.buffer;
  }

  function pcm16(samples) {
    var out = new DataView(new ArrayBuffer(samples.length * 2));
    for (var i = 0; i < samples.length; i++) {
      var s = Math.max(-1, Math.min(1, samples[i]));
      out.setInt16(i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
    }
    return out.buffer;
  }

  function Live(root) {
    this.root = root;
    this.fps = Number(root.dataset.fps) || 5;
    this.video = document.getElementById("camera");
    this.overlay = document.getElementById("overlay");
    this.sentAt = new Map();
    this.counts = { frames: 0, dropped: 0 };
    this.plot = null;
    this.series = { t: [], valence: [], arousal: [], dominance: [] };
  }

  Live.prototype.el = function (name) { return this.root.querySelector("[data-live-" + name + "]"); };
  Live.prototype.say = function (name, text) { this.el(name).textContent = text; };

  Live.prototype.fail = function (message) {
    var box = this.el("error");
    box.textContent = message;
    box.hidden = false;
    this.stop();
  };

  Live.prototype.token = function () {
    return fetch("/console/live/token", {
      method: "POST", headers: { "X-CSRF-Token": window.EchoDepth.csrfToken(), Accept: "application/json" }
    }).then(function (r) {
      return r.json().then(function (body) {
        if (!r.ok) { throw new Error(body.detail || body.title || "the stream token was refused"); }
        return body;
      });
    });
  };

  Live.prototype.start = function () {
    var self = this;
    var audio = this.el("audio").checked;
    this.el("error").hidden = true;
    this.el("start").disabled = true;
    this.say("status", "asking for the camera…");
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: audio })
      .then(function (media) {
        self.media = media;
        self.video.srcObject = media;
        return self.video.play().then(function () { return self.token(); });
      })
      .then(function (token) { self.open(token.url, audio); })
      .catch(function (err) { self.fail(String(err.message || err)); });
  };

  Live.prototype.open = function (path, audio) {
    var self = this;
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    this.ws = new WebSocket(scheme + location.host + path);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = function () {
      self.t0 = performance.now();
      self.ws.send(JSON.stringify({ type: "start", fps: self.fps, audio: audio }));
      self.say("status", "streaming");
      self.el("stop").disabled = false;
      self.timer = setInterval(function () { self.sendFrame(); }, 1000 / self.fps);
      if (audio) { self.startAudio(); }
    };
    this.ws.onmessage = function (event) { self.received(JSON.parse(event.data)); };
    this.ws.onclose = function (event) {
      self.halt();
      self.say("status", event.code === 1000 ? "ended" : "closed (" + (event.reason || event.code) + ")");
    };
  };

  Live.prototype.sendFrame = function () {
    var self = this;
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN || this.video.readyState < 2 || this.busy) { return; }
    var canvas = this.frameCanvas || (this.frameCanvas = document.createElement("canvas"));
    canvas.width = this.video.videoWidth;
    canvas.height = this.video.videoHeight;
    canvas.getContext("2d").drawImage(this.video, 0, 0);
    var ts = Math.round(performance.now() - this.t0);
    this.busy = true;
    canvas.toBlob(function (blob) {
      self.busy = false;
      if (!blob || !self.ws || self.ws.readyState !== WebSocket.OPEN) { return; }
      blob.arrayBuffer().then(function (body) {
        self.sentAt.set(ts, performance.now());
        self.ws.send(joined(header(1, ts), body));
      });
    }, "image/jpeg", 0.7);
  };

  Live.prototype.startAudio = function () {
    var self = this;
    var context = new AudioContext({ sampleRate: 16000 });
    this.audioContext = context;
    context.audioWorklet.addModule(this.root.dataset.worklet).then(function () {
      var node = new AudioWorkletNode(context, "pcm-capture");
      var start = null;
      var samples = 0;
      node.port.onmessage = function (event) {
        if (!self.ws || self.ws.readyState !== WebSocket.OPEN) { return; }
        if (start === null) { start = performance.now() - self.t0; }
        self.ws.send(joined(header(2, start + samples / 16), pcm16(event.data)));
        samples += event.data.length;
      };
      context.createMediaStreamSource(self.media).connect(node);
    }).catch(function (err) { self.fail("the microphone could not be read: " + err); });
  };

  Live.prototype.received = function (msg) {
    if (msg.type === "frame") { this.frame(msg); }
    else if (msg.type === "second") { this.second(msg); }
    else if (msg.type === "dropped") { this.counts.dropped += msg.count || 1; this.say("dropped", this.counts.dropped); }
    else if (msg.type === "summary") { this.summary(msg.job_id); }
    else if (msg.type === "error" && !msg.ts) { this.fail(msg.message || msg.code); }
  };

  Live.prototype.frame = function (msg) {
    var sent = this.sentAt.get(msg.ts);
    this.sentAt.forEach(function (_, ts, map) { if (ts <= msg.ts) { map.delete(ts); } });
    this.counts.frames += 1;
    this.say("frames", this.counts.frames);
    if (sent !== undefined) {
      this.say("rtt", Math.round(performance.now() - sent));
      this.root.dataset.rtt = String(Math.round(performance.now() - sent));
    }
    this.say("server", msg.latency_ms !== undefined ? Math.round(msg.latency_ms) : "–");
    var faces = msg.faces || [];
    this.say("faces", faces.length ? faces.length + " (largest first)" : "no face in view");
    this.drawBoxes(faces);
    this.showAUs(faces[0]);
  };

  Live.prototype.drawBoxes = function (faces) {
    var w = this.video.videoWidth;
    var h = this.video.videoHeight;
    var shown = this.video.getBoundingClientRect();
    this.overlay.width = shown.width;
    this.overlay.height = shown.height;
    var g = this.overlay.getContext("2d");
    g.clearRect(0, 0, shown.width, shown.height);
    if (!w || !h) { return; }
    var sx = shown.width / w;
    var sy = shown.height / h;
    g.lineWidth = 3;
    g.strokeStyle = "#ffb000";
    faces.forEach(function (face) {
      var b = face.box;
      g.strokeRect(b[0] * sx, b[1] * sy, (b[2] - b[0]) * sx, (b[3] - b[1]) * sy);
    });
  };

  Live.prototype.showAUs = function (face) {
    var list = this.el("aus");
    list.textContent = "";
    var aus = face && face.au_map ? Object.keys(face.au_map) : [];
    aus.sort(function (a, b) { return face.au_map[b].intensity - face.au_map[a].intensity; });
    aus.slice(0, 8).forEach(function (code) {
      var li = document.createElement("li");
      var meter = document.createElement("meter");
      meter.min = 0; meter.max = 1; meter.value = face.au_map[code].intensity;
      li.append(code + " ", meter);
      list.appendChild(li);
    });
    if (!aus.length) {
      var none = document.createElement("li");
      none.className = "meta";
      none.textContent = "no face, no action units";
      list.appendChild(none);
    }
  };

  Live.prototype.second = function (msg) {
    var s = this.series;
    var vad = msg.vad || {};
    s.t.push(msg.t);
    ["valence", "arousal", "dominance"].forEach(function (d) { s[d].push(vad[d] === undefined ? null : vad[d]); });
    if (s.t.length > WINDOW) { ["t", "valence", "arousal", "dominance"].forEach(function (k) { s[k].shift(); }); }
    this.say("trust", msg.trust_score === null || msg.trust_score === undefined ? "–" : Math.round(msg.trust_score));
    this.drawPlot();
  };

  Live.prototype.drawPlot = function () {
    if (!window.echarts) { return; }
    var s = this.series;
    this.plot = this.plot || window.echarts.init(document.getElementById("live-plot"), null, { renderer: "canvas" });
    this.plot.setOption({
      animation: false,
      aria: { enabled: true },
      legend: { top: 0 },
      grid: { left: 48, right: 24, top: 36, bottom: 40 },
      xAxis: { type: "value", name: "s", min: s.t[0], max: Math.max(s.t[0] + WINDOW, s.t[s.t.length - 1]) },
      yAxis: { type: "value", min: 0, max: 1 },
      series: ["valence", "arousal", "dominance"].map(function (d) {
        return {
          id: d, name: d.charAt(0).toUpperCase() + d.slice(1), type: "line", showSymbol: false,
          itemStyle: { color: COLOURS[d] }, data: s.t.map(function (t, i) { return [t, s[d][i]]; })
        };
      })
    });
    this.root.dataset.seconds = String(s.t.length);
  };

  Live.prototype.summary = function (jobId) {
    var box = this.el("summary");
    box.querySelector("a").href = "/console/result/" + encodeURIComponent(jobId);
    box.hidden = false;
  };

  Live.prototype.halt = function () {
    clearInterval(this.timer);
    if (this.audioContext) { this.audioContext.close(); this.audioContext = null; }
    if (this.media) { this.media.getTracks().forEach(function (t) { t.stop(); }); this.media = null; }
    this.el("start").disabled = false;
    this.el("stop").disabled = true;
  };

  Live.prototype.stop = function () {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "end" }));
      this.say("status", "finishing…");
      clearInterval(this.timer);
      return;
    }
    this.halt();
  };

  document.addEventListener("DOMContentLoaded", function () {
    var root = document.querySelector("[data-live]");
    if (!root) { return; }
    var live = new Live(root);
    live.el("start").addEventListener("click", function () { live.start(); });
    live.el("stop").addEventListener("click", function () { live.stop(); });
  });
})();
