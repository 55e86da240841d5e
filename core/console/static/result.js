/* The Result page: the per-second timeline and the AU heatmap (Apache ECharts), synced with the player. */
(function () {
  "use strict";

  var echartsLoading = null;
  var COLOURS = { valence: "#2f7d32", arousal: "#c75b00", dominance: "#3559b5", credibility: "#6d2f9c" };
  var HEAT = ["#f7fbff", "#c6dbef", "#6baed6", "#2171b5", "#08306b"];

  function loadECharts(src) {
    if (window.echarts) {
      return Promise.resolve(window.echarts);
    }
    if (!echartsLoading) {
      echartsLoading = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src;
        script.onload = function () { resolve(window.echarts); };
        script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return echartsLoading;
  }

  function clock(seconds) {
    var whole = Math.floor(seconds);
    var h = Math.floor(whole / 3600);
    var m = Math.floor((whole % 3600) / 60);
    var s = String(whole % 60).padStart(2, "0");
    return h ? h + ":" + String(m).padStart(2, "0") + ":" + s : m + ":" + s;
  }

  function pairs(t, values) {
    return t.map(function (x, i) { return [x, values[i]]; });
  }

  function line(name, t, values, axis) {
    return {
      id: name, name: name.charAt(0).toUpperCase() + name.slice(1), type: "line", yAxisIndex: axis,
      data: pairs(t, values), showSymbol: t.length <= 120, symbolSize: 5, connectNulls: false,
      lineStyle: { width: name === "credibility" ? 2.5 : 1.5 }, itemStyle: { color: COLOURS[name] },
      sampling: t.length > 1000 ? "lttb" : undefined // at most a point per pixel column
    };
  }

  function timelineOption(tl) {
    var last = tl.t.length ? tl.t[tl.t.length - 1] + 1 : 1;
    var series = ["valence", "arousal", "dominance"].map(function (d) { return line(d, tl.t, tl[d], 0); });
    var cred = line("credibility", tl.t, tl.credibility, 1);
    cred.markLine = { silent: true, symbol: "none", animation: false, data: [] };
    series.push(cred);
    return {
      animation: false,
      aria: { enabled: true },
      legend: { top: 0 },
      tooltip: { trigger: "axis", renderMode: "richText", axisPointer: { type: "line" } },
      grid: { left: 48, right: 56, top: 36, bottom: 64 },
      xAxis: { type: "value", min: 0, max: last, name: "time", axisLabel: { formatter: clock } },
      yAxis: [
        { type: "value", min: 0, max: 1, name: "V / A / D" },
        { type: "value", min: 0, max: 100, name: "credibility", splitLine: { show: false } }
      ],
      dataZoom: [{ type: "inside", xAxisIndex: 0 }, { type: "slider", xAxisIndex: 0, height: 18, bottom: 8, showDataShadow: false }],
      series: series
    };
  }

  function heatmapOption(hm) {
    var every = Math.max(0, Math.floor(hm.t.length / 10) - 1); // about ten time labels, not one per column
    var cells = [];
    hm.z.forEach(function (row, y) {
      row.forEach(function (v, x) {
        if (v !== null) {
          cells.push([x, y, v]);
        }
      });
    });
    return {
      animation: false,
      aria: { enabled: true },
      tooltip: {
        renderMode: "richText",
        formatter: function (p) {
          var from = hm.t[p.value[0]];
          var when = hm.bin > 1 ? clock(from) + "–" + clock(from + hm.bin) : clock(from);
          return hm.labels[p.value[1]] + " at " + when + ": " + p.value[2].toFixed(2);
        }
      },
      grid: { left: 190, right: 16, top: 8, bottom: 64 },
      xAxis: { type: "category", data: hm.t.map(clock), axisLabel: { interval: every }, axisTick: { interval: every } },
      yAxis: { type: "category", data: hm.labels, inverse: true },
      visualMap: {
        min: 0, max: 1, orient: "horizontal", left: "center", bottom: 4, itemHeight: 120,
        inRange: { color: HEAT }, text: ["1", "0"]
      },
      // no hover emphasis: it costs more than drawing the cells, and the tooltip already names the cell
      series: [{ id: "au", type: "heatmap", data: cells, progressive: 0, emphasis: { disabled: true } }]
    };
  }

  function Page(root, data) {
    this.root = root;
    this.data = data;
    this.player = root.querySelector("#player");
    this.timeline = null;
    this.cursor = -1;
  }

  Page.prototype.seek = function (seconds) {
    var player = this.player;
    if (player && player.src) {
      player.currentTime = seconds;
    }
    this.mark(seconds);
  };

  Page.prototype.mark = function (seconds) {
    if (this.timeline) {
      this.timeline.setOption({ series: [{ id: "credibility", markLine: { data: [{ xAxis: seconds }] } }] });
    }
    this.root.querySelectorAll(".transcript li").forEach(function (li) {
      var on = seconds >= parseFloat(li.dataset.start) && seconds < parseFloat(li.dataset.end);
      li.classList.toggle("playing", on);
    });
  };

  Page.prototype.useMedia = function (url) {
    this.player.src = url;
    this.player.hidden = false;
    this.root.querySelector("[data-media-gone]").hidden = true;
  };

  Page.prototype.setUpPlayer = function () {
    var page = this;
    if (!this.player) {
      return;
    }
    var local = window.EchoDepth && window.EchoDepth.localMedia.get(this.data.job_id);
    if (local) {
      this.useMedia(local.url);
    }
    this.root.querySelector("[data-local-media]").addEventListener("change", function (event) {
      var file = event.target.files[0];
      if (file) {
        page.useMedia(URL.createObjectURL(file));
      }
    });
    var last = -1;
    this.player.addEventListener("timeupdate", function () {
      var second = Math.floor(page.player.currentTime);
      if (second !== last) {
        last = second;
        page.mark(page.player.currentTime);
      }
    });
  };

  Page.prototype.seekFromPixel = function (chart, x, y, t) {
    if (!chart.containPixel({ gridIndex: 0 }, [x, y])) {
      return;
    }
    var value = chart.convertFromPixel({ gridIndex: 0 }, [x, y])[0];
    var index = Math.min(t.length - 1, Math.max(0, Math.round(value))); // the second, or the heatmap's column
    if (t.length && !isNaN(index)) {
      this.seek(t[index]);
    }
  };

  Page.prototype.keyboard = function (el) {
    var page = this;
    var t = this.data.timeline.t;
    el.addEventListener("keydown", function (event) {
      var step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        page.cursor = Math.min(t.length - 1, Math.max(0, page.cursor + step));
        page.timeline.dispatchAction({ type: "showTip", seriesIndex: 3, dataIndex: page.cursor });
        event.preventDefault();
      } else if (event.key === "Enter" && page.cursor >= 0) {
        page.seek(t[page.cursor]);
        event.preventDefault();
      }
    });
  };

  function rendered(chart) { // attach before setOption: a chart without animation may finish at once
    return new Promise(function (resolve) { chart.on("finished", resolve); });
  }

  Page.prototype.draw = function (echarts) {
    var page = this;
    var charts = [];
    var tlEl = this.root.querySelector("#timeline");
    if (tlEl) {
      this.timeline = echarts.init(tlEl, null, { renderer: "canvas" });
      charts.push(rendered(this.timeline));
      this.timeline.setOption(timelineOption(this.data.timeline));
      this.timeline.getZr().on("click", function (e) { page.seekFromPixel(page.timeline, e.offsetX, e.offsetY, page.data.timeline.t); });
      this.keyboard(tlEl);
      tlEl.dataset.points = String(this.data.timeline.t.length);
    }
    var hmEl = this.root.querySelector("#heatmap");
    if (hmEl) {
      hmEl.style.height = 22 * this.data.heatmap.aus.length + 96 + "px";
      var heat = echarts.init(hmEl, null, { renderer: "canvas" });
      charts.push(rendered(heat));
      heat.setOption(heatmapOption(this.data.heatmap));
      heat.getZr().on("click", function (e) { page.seekFromPixel(heat, e.offsetX, e.offsetY, page.data.heatmap.t); });
      hmEl.dataset.rows = String(this.data.heatmap.aus.length);
    }
    window.addEventListener("resize", function () {
      [page.timeline, heat].forEach(function (c) { if (c) { c.resize(); } });
    });
    return Promise.all(charts); // both plots drawn
  };

  function drawn(root) {
    root.dataset.drawnMs = String(Math.round(performance.now())); // read by bench/console_render.py
    root.dataset.drawn = "true";
  }

  function chartData(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("the plots' data could not be loaded (" + r.status + ")"); }
      return r.json();
    });
  }

  function start(root) {
    var page = new Page(root, { job_id: root.dataset.job });
    page.setUpPlayer();
    root.addEventListener("click", function (event) {
      var button = event.target.closest("[data-seek]");
      if (button) {
        page.seek(parseFloat(button.dataset.seek));
      }
    });
    if (!root.querySelector("#timeline")) {
      drawn(root);
      return;
    }
    // the data and the plotting library load at the same time, after the page has painted
    Promise.all([chartData(root.dataset.charts), loadECharts(root.dataset.echarts)])
      .then(function (got) {
        Object.assign(page.data, got[0]);
        return page.draw(got[1]);
      })
      .then(function () { drawn(root); });
  }

  function onLoad(element) {
    var root = element.matches && element.matches("[data-result]") ? element : element.querySelector("[data-result]");
    if (root && !root.dataset.started) {
      root.dataset.started = "true";
      start(root);
    }
  }

  window.htmx.onLoad(onLoad); // the first page, and every page or fragment htmx swaps in later
})();
