/* The Analyse page's upload: an XHR so the browser reports upload progress; then htmx polls the job. */
(function () {
  "use strict";

  var EXTENSIONS = {
    video: ["mp4", "m4v", "mov", "mkv", "webm", "avi"],
    audio: ["wav", "mp3", "m4a", "flac", "ogg", "opus", "aac"],
    image: ["jpg", "jpeg", "png", "gif", "webp", "bmp", "tif", "tiff"]
  };

  function modalityOf(file) {
    var kind = (file.type || "").split("/")[0];
    if (EXTENSIONS[kind]) {
      return kind;
    }
    var ext = (file.name.split(".").pop() || "").toLowerCase();
    return Object.keys(EXTENSIONS).find(function (m) { return EXTENSIONS[m].indexOf(ext) >= 0; }) || null;
  }

  function problemText(xhr) {
    try {
      var body = JSON.parse(xhr.responseText);
      return body.detail || body.title || ("HTTP " + xhr.status);
    } catch (e) {
      return "The upload failed (HTTP " + xhr.status + ").";
    }
  }

  function showError(form, text) {
    var box = form.querySelector("[data-upload-error]");
    box.textContent = text;
    box.hidden = !text;
  }

  function setProgress(form, percent) {
    form.querySelector("[data-upload-status]").hidden = false;
    form.querySelector("progress").value = percent;
    form.querySelector("[data-upload-percent]").textContent = String(percent);
  }

  function accepted(form, file, modality, xhr) {
    var body = JSON.parse(xhr.responseText);
    if (modality !== "image") {
      window.EchoDepth.localMedia.set(body.job_id, { url: URL.createObjectURL(file), kind: modality });
    }
    setProgress(form, 100);
    window.htmx.ajax("GET", body.progress, { target: "#job-progress", swap: "innerHTML" });
  }

  function upload(form) {
    var file = form.querySelector("input[type=file]").files[0];
    var button = form.querySelector("button[type=submit]");
    var modality = file ? modalityOf(file) : null;
    showError(form, "");
    if (!modality) {
      showError(form, "Choose a video, audio or image file.");
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/console/analyse/" + modality);
    xhr.setRequestHeader("X-CSRF-Token", window.EchoDepth.csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", function (event) {
      if (event.lengthComputable) {
        setProgress(form, Math.round((100 * event.loaded) / event.total));
      }
    });
    xhr.addEventListener("loadend", function () {
      button.disabled = false;
      if (xhr.status === 202) {
        accepted(form, file, modality, xhr);
      } else {
        showError(form, xhr.status ? problemText(xhr) : "The connection was lost during the upload.");
      }
    });
    var data = new FormData();
    data.append("file", file, file.name);
    button.disabled = true;
    setProgress(form, 0);
    xhr.send(data);
  }

  document.addEventListener("submit", function (event) {
    if (event.target.matches("form[data-upload]")) {
      event.preventDefault();
      upload(event.target);
    }
  });
})();
