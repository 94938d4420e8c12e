/* The comparison page's script: builds the controls from the embedded data and redraws the tables and
   the trend chart (inline SVG) on every change. Text is set with textContent only (no HTML from data). */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var MINUS = "\u2212", NBSP = "\u00a0", DOTS = "..", NA = ".";
  var WORDS = D.words || {};  // an English page's words (reports/page_texts.py); Swedish when absent
  function word(key, sv) { return WORDS[key] || sv; }
  var COLORS = ["#1f5f9f", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207", "#4d4d4d"];
  var order = [];  // selected districts in the order they were picked (difference = first minus second)

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function svg(tag, attrs, text) {
    var e = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }
  function neg(t) {  // the text of -x from the text of x ("+3,2" <-> "−3,2"; "0,0" stays)
    if (t.charAt(0) === "+") { return MINUS + t.slice(1); }
    if (t.charAt(0) === MINUS) { return "+" + t.slice(1); }
    return t;
  }
  function pct(v) { return (Math.round(v * 1000) / 10).toFixed(0) + word("percent", NBSP + "%"); }
  function cell(ind, d, y) {
    var a = D.estimates[ind] || {};
    return (a[d] || {})[String(y)];
  }
  function years() {
    return D.years.filter(function (y) { return document.getElementById("year-" + y).checked; });
  }

  function controls() {
    var fs = document.getElementById("districts");
    D.districts.forEach(function (d, k) {
      var lab = el("label");
      var box = el("input", { type: "checkbox", name: "district", value: d, id: "district-" + k });
      box.addEventListener("change", function () {
        order = order.filter(function (x) { return x !== d; });
        if (box.checked) { order.push(d); }
        render();
      });
      lab.appendChild(box);
      lab.appendChild(document.createTextNode(" " + d));
      fs.appendChild(lab);
    });
    var sel = document.getElementById("indicator");
    var groups = {};
    D.indicators.forEach(function (i) {
      if (!groups[i.group]) { groups[i.group] = el("optgroup", { label: i.group }); sel.appendChild(groups[i.group]); }
      groups[i.group].appendChild(el("option", { value: i.id }, i.label));
    });
    sel.addEventListener("change", render);
    var ys = document.getElementById("years");
    D.years.forEach(function (y) {
      var lab = el("label");
      var box = el("input", { type: "checkbox", name: "year", value: String(y), id: "year-" + y });
      box.checked = true;
      box.addEventListener("change", render);
      lab.appendChild(box);
      lab.appendChild(document.createTextNode(" " + y));
      ys.appendChild(lab);
    });
    var first = D.districts.filter(function (d) { return d !== "Totalt"; }).slice(0, 2);
    first.forEach(function (d) {
      var box = document.querySelector('#districts input[value="' + CSS.escape(d) + '"]');
      box.checked = true;
      order.push(d);
    });
  }

  function shares(ind, ys) {
    var t = document.getElementById("shares");
    var head = t.tHead, body = t.tBodies[0];
    head.textContent = ""; body.textContent = "";
    var hr = el("tr");
    hr.appendChild(el("th", {}, word("district", "Område")));
    ys.forEach(function (y) { hr.appendChild(el("th", {}, String(y))); });
    head.appendChild(hr);
    order.forEach(function (d) {
      var tr = el("tr");
      tr.appendChild(el("td", {}, d));
      ys.forEach(function (y) {
        var c = cell(ind, d, y);
        var td = el("td", { "class": "share", "data-district": d, "data-year": String(y) });
        if (!c) { td.appendChild(el("span", { "class": "est" }, DOTS)); }
        else {
          td.appendChild(el("span", { "class": "est" }, c[1]));
          td.appendChild(el("br"));
          td.appendChild(el("small", { "class": "ci" }, "(" + c[4] + ")"));
          td.appendChild(el("br"));
          td.appendChild(el("small", { "class": "n" }, "n = " + c[5]));
        }
        tr.appendChild(td);
      });
      body.appendChild(tr);
    });
  }

  function difference(ind, ys) {
    var body = document.getElementById("diff").tBodies[0];
    var title = document.getElementById("diff-title");
    body.textContent = "";
    if (order.length < 2) { title.textContent = word("choose_two", "Välj två områden för att se skillnaden."); return; }
    var a = order[0], b = order[1];
    title.textContent = a + " minus " + b + (order.length > 2 ? word("first_two", " (de två först valda områdena)") : "");
    ys.forEach(function (y) {
      var by = (D.comparisons[ind] || {})[String(y)] || {};
      var r = by[a + "|" + b], flip = false;
      if (!r && by[b + "|" + a]) { r = by[b + "|" + a]; flip = true; }
      var tr = el("tr", { "data-year": String(y) });
      tr.appendChild(el("td", {}, String(y)));
      if (!r) {
        var hidden = !cell(ind, a, y) || !cell(ind, b, y);
        var mark = hidden ? DOTS : NA;
        ["diff", "ci", "p", "sig"].forEach(function (k) { tr.appendChild(el("td", { "class": k }, mark)); });
      } else {
        var d = flip ? neg(r[1]) : r[1];
        var lo = flip ? neg(r[3]) : r[2], hi = flip ? neg(r[2]) : r[3];
        tr.appendChild(el("td", { "class": "diff" + (r[5] ? " significant" : "") }, d + (r[5] ? " *" : "")));
        tr.appendChild(el("td", { "class": "ci" }, "(" + lo + "\u2013" + hi + ")"));
        tr.appendChild(el("td", { "class": "p" }, r[4]));
        tr.appendChild(el("td", { "class": "sig" }, r[5] ? word("yes", "Ja") : word("no", "Nej")));
      }
      body.appendChild(tr);
    });
  }

  function trend(ind, ys) {
    var box = document.getElementById("trend");
    box.textContent = "";
    var W = 640, H = 300, L = 54, R = 160, T = 14, B = 34;
    var pts = [];
    order.forEach(function (d) { ys.forEach(function (y) { var c = cell(ind, d, y); if (c) { pts.push(c[3]); } }); });
    var top = Math.min(1, Math.max(0.1, Math.ceil((Math.max.apply(null, pts.concat([0])) + 0.05) * 10) / 10));
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img", id: "trend-svg",
                         "aria-label": word("chart_label", "Andel per år för de valda områdena") });
    function x(k) { return L + (ys.length > 1 ? k * (W - L - R) / (ys.length - 1) : (W - L - R) / 2); }
    function yv(v) { return T + (1 - v / top) * (H - T - B); }
    for (var g = 0; g <= 4; g++) {
      var v = top * g / 4;
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: yv(v), y2: yv(v), stroke: "#e5e9ef" }));
      s.appendChild(svg("text", { x: L - 6, y: yv(v) + 4, "text-anchor": "end" }, pct(v)));
    }
    ys.forEach(function (y, k) { s.appendChild(svg("text", { x: x(k), y: H - 12, "text-anchor": "middle" }, String(y))); });
    order.forEach(function (d, j) {
      var col = COLORS[j % COLORS.length], path = "", pen = "M";
      ys.forEach(function (y, k) {
        var c = cell(ind, d, y);
        if (!c) { pen = "M"; return; }  // a hidden year breaks the line
        path += pen + x(k).toFixed(1) + " " + yv(c[0]).toFixed(1) + " ";
        pen = "L";
        s.appendChild(svg("line", { x1: x(k), x2: x(k), y1: yv(c[2]), y2: yv(c[3]), stroke: col, "stroke-width": 1.5 }));
        s.appendChild(svg("circle", { cx: x(k), cy: yv(c[0]), r: 3.5, fill: col, "data-district": d, "data-year": String(y) }));
      });
      if (path) { s.appendChild(svg("path", { d: path, fill: "none", stroke: col, "stroke-width": 2, "class": "line", "data-district": d })); }
      s.appendChild(svg("rect", { x: W - R + 14, y: T + j * 20, width: 12, height: 12, fill: col }));
      s.appendChild(svg("text", { x: W - R + 32, y: T + j * 20 + 10 }, d));
    });
    box.appendChild(s);
  }

  function ranking(ind, ys) {
    var body = document.getElementById("ranking").tBodies[0];
    body.textContent = "";
    if (!ys.length) { return; }
    var y = ys[ys.length - 1];
    document.getElementById("rank-title").textContent = WORDS.rank_title ? WORDS.rank_title.replace("{year}", String(y))
      : "Områdena efter andel " + y + ", högst först; .. = redovisas inte.";
    var shown = [], hidden = [];
    D.districts.forEach(function (d) {
      if (d === "Totalt") { return; }
      var c = cell(ind, d, y);
      if (c) { shown.push([d, c]); } else { hidden.push(d); }
    });
    shown.sort(function (p, q) { return q[1][0] - p[1][0] || (p[0] < q[0] ? -1 : 1); });
    shown.forEach(function (p, k) {
      var tr = el("tr", { "data-district": p[0], "class": order.indexOf(p[0]) >= 0 ? "sel" : "" });
      [String(k + 1), p[0], p[1][1], "(" + p[1][4] + ")"].forEach(function (t) { tr.appendChild(el("td", {}, t)); });
      body.appendChild(tr);
    });
    hidden.forEach(function (d) {
      var tr = el("tr", { "data-district": d, "class": order.indexOf(d) >= 0 ? "sel" : "" });
      [DOTS, d, DOTS, DOTS].forEach(function (t) { tr.appendChild(el("td", {}, t)); });
      body.appendChild(tr);
    });
  }

  function render() {
    var ind = document.getElementById("indicator").value, ys = years();
    shares(ind, ys);
    difference(ind, ys);
    trend(ind, ys);
    ranking(ind, ys);
    document.body.setAttribute("data-ready", "1");
  }

  controls();
  render();
}());
