// The console's own script: charts from the JSON each page embeds, and live events over
// server-sent events. No framework beyond htmx (fragments) and Chart.js (charts).
(function () {
  "use strict";
  var PALETTE = ["#1f5fa8", "#c2410c", "#15803d", "#7e22ce", "#b45309", "#0e7490", "#be123c", "#4d7c0f"];
  var locale = document.documentElement.lang || "en";

  function color(i) { return PALETTE[i % PALETTE.length]; }
  function digits(currency) {
    try { return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).resolvedOptions().maximumFractionDigits; }
    catch (e) { return 2; }
  }
  function money(major, currency) {
    return new Intl.NumberFormat(locale, { style: "currency", currency: currency }).format(major);
  }
  function num(v) { return new Intl.NumberFormat(locale).format(v); }
  function pct(v) { return v === null || v === undefined ? "-" : new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(v); }

  function base(extra) {
    var o = { responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "index", intersect: false },
      plugins: { legend: { position: "bottom" }, tooltip: { enabled: true } } };
    return Object.assign(o, extra || {});
  }

  var builders = {
    buckets: function (d) {
      var buckets = [], currencies = [];
      d.rows.forEach(function (r) {
        if (buckets.indexOf(r.bucket) < 0) buckets.push(r.bucket);
        if (currencies.indexOf(r.currency) < 0) currencies.push(r.currency);
      });
      var datasets = currencies.map(function (c, i) {
        return { label: c, backgroundColor: color(i), data: buckets.map(function (b) {
          var row = d.rows.find(function (r) { return r.bucket === b && r.currency === c; });
          return row ? row.loans : 0; }), rows: buckets.map(function (b) {
          return d.rows.find(function (r) { return r.bucket === b && r.currency === c; }); }) };
      });
      return { type: "bar", data: { labels: buckets, datasets: datasets }, options: base({
        plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (ctx) {
          var row = ctx.dataset.rows[ctx.dataIndex];
          if (!row) return ctx.dataset.label + ": 0";
          var k = Math.pow(10, digits(row.currency));
          return row.currency + ": " + num(row.loans) + " · " + money(row.past_due_minor / k, row.currency);
        } } } } }) };
    },
    stacked: function (d) {
      var names = Object.keys(d.series);
      return { type: "line", data: { labels: d.labels, datasets: names.map(function (b, i) {
        return { label: b, data: d.series[b], fill: true, borderColor: color(i), backgroundColor: color(i) + "55", pointRadius: 2 }; }) },
        options: base({ scales: { y: { stacked: true, beginAtZero: true } } }) };
    },
    matrix: function (d) {
      return { type: "bar", data: { labels: d.buckets, datasets: d.buckets.map(function (to, i) {
        return { label: "→ " + to, backgroundColor: color(i), data: d.buckets.map(function (from) {
          return (d.counts[from] || {})[to] || 0; }) }; }) },
        options: base({ scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }) };
    },
    line: function (d) {
      var names = Object.keys(d.series);
      return { type: "line", data: { labels: d.labels, datasets: names.map(function (n, i) {
        return { label: n, borderColor: color(i), backgroundColor: color(i), data: d.series[n].map(function (v) { return v === null ? null : Number(v); }) }; }) },
        options: base({ scales: { y: { beginAtZero: true, ticks: { callback: function (v) { return pct(v); } } } },
          plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + pct(ctx.raw); } } } } }) };
    },
    money: function (d) {
      var names = Object.keys(d.series);
      return { type: "bar", data: { labels: d.labels, datasets: names.map(function (c, i) {
        var k = Math.pow(10, digits(c));
        return { label: c, backgroundColor: color(i), data: d.series[c].map(function (m) { return m / k; }) }; }) },
        options: base({ plugins: { legend: { position: "bottom" }, tooltip: { callbacks: { label: function (ctx) { return money(ctx.raw, ctx.dataset.label); } } } } }) };
    },
    grouped: function (d) {
      return { type: "bar", data: { labels: d.labels, datasets: d.kinds.map(function (k, i) {
        return { label: k, backgroundColor: color(i), data: d.labels.map(function (c) { return d.outcome[c][k] || 0; }) }; }) },
        options: base() };
    },
    counts: function (d) {
      return { type: "bar", data: { labels: d.labels, datasets: [{ label: "", backgroundColor: color(0), data: d.values }] },
        options: base({ indexAxis: "y", plugins: { legend: { display: false } } }) };
    }
  };

  function drawCharts() {
    if (!window.Chart) return;
    document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      var source = document.getElementById(canvas.dataset.chart);
      if (!source || canvas.dataset.drawn) return;
      var data = JSON.parse(source.textContent);
      var build = builders[data.type];
      if (!build) return;
      canvas.chart = new window.Chart(canvas, build(data));
      canvas.dataset.drawn = "true";
    });
  }

  // Live events ------------------------------------------------------------------------
  var MAX_ROWS = 300;
  var source = null;

  function cell(text, tag) {
    var td = document.createElement(tag || "td");
    td.textContent = text === null || text === undefined ? "-" : String(text);
    return td;
  }

  function addEvent(tbody, e, label) {
    var id = e.topic + ":" + e.partition + ":" + e.offset;
    if (tbody.querySelector('tr[data-id="' + CSS.escape(id) + '"]')) return;
    var tr = document.createElement("tr");
    tr.dataset.id = id;
    tr.dataset.type = e.type;
    tr.dataset.loan = e.loan_id || "";
    tr.className = "live-event" + (e.malformed ? " malformed" : "");
    var time = cell(e.local_time);
    tr.appendChild(time);
    var type = cell(e.type);
    type.className = "type";
    tr.appendChild(type);
    tr.appendChild(cell(e.loan_id || e.key));
    tr.appendChild(cell(e.summary));
    var td = document.createElement("td");
    var details = document.createElement("details");
    var summary = document.createElement("summary");
    summary.textContent = label;
    var pre = document.createElement("pre");
    pre.textContent = JSON.stringify(e.payload, null, 2);
    details.appendChild(summary);
    details.appendChild(pre);
    td.appendChild(details);
    tr.appendChild(td);
    tbody.insertBefore(tr, tbody.firstChild);
    while (tbody.rows.length > MAX_ROWS) tbody.deleteRow(tbody.rows.length - 1);
  }

  function connect(table) {
    var form = document.getElementById("event-filter");
    var status = document.getElementById("live-status");
    var label = (document.getElementById("payload-label") || {}).textContent || "payload";
    var params = new URLSearchParams(new FormData(form));
    Array.from(params.keys()).forEach(function (k) { if (!params.get(k)) params.delete(k); });
    if (source) source.close();
    var tbody = table.tBodies[0];
    tbody.textContent = "";
    source = new EventSource(table.dataset.stream + (params.toString() ? "?" + params : ""));
    source.addEventListener("open", function () { status.textContent = status.dataset.connected; table.dataset.connected = "true"; });
    source.addEventListener("cloudevent", function (msg) { addEvent(tbody, JSON.parse(msg.data), label); });
    history.replaceState(null, "", "/events" + (params.toString() ? "?" + params : ""));
  }

  function liveEvents() {
    var table = document.getElementById("live-events");
    if (!table) return;
    var form = document.getElementById("event-filter");
    form.addEventListener("submit", function (ev) { ev.preventDefault(); connect(table); });
    connect(table);
    window.addEventListener("pagehide", function () { if (source) source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () { drawCharts(); liveEvents(); });
})();
