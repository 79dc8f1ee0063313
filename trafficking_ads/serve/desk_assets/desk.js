// The analyst's desk. Ad text only ever reaches the page as DOM text nodes (textContent,
// createTextNode): the CSP's Trusted Types with no policy make innerHTML throw anyway.
"use strict";
(function () {
  var I18N = null, lang = "en", last = null;
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  function t(key) { return (I18N && I18N[lang].ui[key]) || (I18N && I18N.en.ui[key]) || key; }
  function indicatorLabel(hit) { return (I18N && I18N[lang].indicators[hit.id]) || hit.id; }

  function applyLang() {
    document.documentElement.lang = lang;
    var nodes = document.querySelectorAll("[data-i18n]");
    for (var i = 0; i < nodes.length; i++) nodes[i].textContent = t(nodes[i].getAttribute("data-i18n"));
    if (last) show(last.text, last.a);
    if (lastBatch) showBatch(lastBatch);
  }

  // Evidence offsets are Python string indices (code points): split the text by code point.
  function highlighted(text, hits) {
    var chars = Array.from(text), spans = [];
    hits.forEach(function (h) {
      (h.evidence || []).forEach(function (e) {
        if ((e.field || "text") === "text" && e.end > e.start) spans.push({ s: e.start, e: e.end, hit: h });
      });
    });
    spans.sort(function (a, b) { return a.s - b.s || b.e - a.e; });
    var frag = document.createDocumentFragment(), pos = 0;
    spans.forEach(function (sp) {
      if (sp.s < pos) return; // overlapping spans: the first one wins
      if (sp.s > pos) frag.appendChild(document.createTextNode(chars.slice(pos, sp.s).join("")));
      var m = el("mark", sp.hit.weight < 0 ? "neg" : "");
      m.setAttribute("data-indicator", sp.hit.id);
      m.title = indicatorLabel(sp.hit);
      m.appendChild(document.createTextNode(chars.slice(sp.s, sp.e).join("")));
      m.appendChild(el("span", "tag", indicatorLabel(sp.hit)));
      frag.appendChild(m);
      pos = sp.e;
    });
    if (pos < chars.length) frag.appendChild(document.createTextNode(chars.slice(pos).join("")));
    return frag;
  }

  function show(text, a) {
    last = { text: text, a: a };
    $("result").hidden = false;
    $("labelled").textContent = "";
    $("risk").textContent = a.risk.toFixed(2);
    var band = $("band");
    band.textContent = (I18N && I18N[lang].bands[a.band]) || a.band;
    band.className = "band band-" + a.band;
    band.setAttribute("data-band", a.band);
    var box = $("text");
    box.replaceChildren(highlighted(text, a.indicators || []));
    var ul = $("hits");
    ul.replaceChildren();
    (a.indicators || []).forEach(function (h) {
      ul.appendChild(el("li", h.weight < 0 ? "neg" : "", indicatorLabel(h) + " (" + (h.weight > 0 ? "+" : "") + h.weight.toFixed(2) + ")"));
    });
    if (!ul.children.length) ul.appendChild(el("li", "", t("no_hits")));
    var body = $("drivers").tBodies[0];
    body.replaceChildren();
    Object.keys(a.components || {}).filter(function (k) { return k.indexOf("contrib_") === 0; }).forEach(function (k) {
      var v = a.components[k], tr = el("tr");
      var ind = k.indexOf("contrib_ind_") === 0 ? k.slice(12) : null;
      tr.appendChild(el("td", "", ind ? indicatorLabel({ id: ind }) : (I18N && I18N[lang].components[k]) || k));
      tr.appendChild(el("td", "num " + (v < 0 ? "neg" : "pos"), (v > 0 ? "+" : "") + v.toFixed(3)));
      body.appendChild(tr);
    });
    $("model").textContent = a.model ? a.model.name + " " + a.model.version : "";
  }

  function status(msg, error) { var s = $("status"); s.textContent = msg; s.className = error ? "error" : ""; }

  function check() {
    var text = $("ad").value;
    if (!text.trim()) { status(t("empty"), true); return; }
    status(t("checking"));
    fetch("/v1/score", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ text: text }) })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (r) {
        if (!r.ok) { status(t("failed") + ": " + ((r.j && r.j.error && r.j.error.message) || "error"), true); return; }
        status("");
        show(text, r.j.assessments[0]);
        document.body.setAttribute("data-checked", String(Number(document.body.getAttribute("data-checked") || 0) + 1));
      })
      .catch(function (e) { status(t("failed") + ": " + e, true); });
  }

  function copy(ev) {
    ev.preventDefault();
    if (!last) return;
    var json = JSON.stringify(last.a, null, 1);
    var done = function () { $("copied").textContent = t("copied"); };
    if (navigator.clipboard) navigator.clipboard.writeText(json).then(done, done); else done();
  }

  var lastBatch = null, SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    var e = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    return e;
  }
  // A small force layout: springs on edges, repulsion between nodes, pull to the centre.
  function layout(g, W, H) {
    var n = g.nodes.length, pos = {}, idx = {};
    g.nodes.forEach(function (node, i) {
      var a = 2 * Math.PI * i / n; idx[node.id] = i;
      pos[node.id] = { x: W / 2 + Math.cos(a) * W / 4, y: H / 2 + Math.sin(a) * H / 4, vx: 0, vy: 0 };
    });
    for (var it = 0; it < 300; it++) {
      for (var i = 0; i < n; i++) for (var j = i + 1; j < n; j++) {
        var p = pos[g.nodes[i].id], q = pos[g.nodes[j].id], dx = p.x - q.x, dy = p.y - q.y, d2 = dx * dx + dy * dy + 0.01;
        var f = 1500 / d2, d = Math.sqrt(d2);
        p.vx += f * dx / d; p.vy += f * dy / d; q.vx -= f * dx / d; q.vy -= f * dy / d;
      }
      g.edges.forEach(function (e) {
        var p = pos[e[0]], q = pos[e[1]], dx = q.x - p.x, dy = q.y - p.y, d = Math.sqrt(dx * dx + dy * dy) + 0.01, f = (d - 60) * 0.05;
        p.vx += f * dx / d; p.vy += f * dy / d; q.vx -= f * dx / d; q.vy -= f * dy / d;
      });
      g.nodes.forEach(function (node) {
        var p = pos[node.id];
        p.vx += (W / 2 - p.x) * 0.01; p.vy += (H / 2 - p.y) * 0.01;
        p.x = Math.max(12, Math.min(W - 12, p.x + p.vx * 0.5)); p.y = Math.max(12, Math.min(H - 12, p.y + p.vy * 0.5));
        p.vx *= 0.6; p.vy *= 0.6;
      });
    }
    return pos;
  }
  function showNode(g, node) {
    var ids = {};
    if (node.kind === "ad") ids[node.id] = 1;
    else g.edges.forEach(function (e) { if (e[1] === node.id) ids[e[0]] = 1; });
    var ul = $("nodeads");
    ul.replaceChildren();
    ul.setAttribute("data-node", node.id);
    g.nodes.forEach(function (m) {
      if (m.kind === "ad" && ids[m.id]) ul.appendChild(el("li", "", m.risk.toFixed(2) + " · " + m.label));
    });
  }
  function drawGraph(g) {
    var box = $("graph"), W = 600, H = 420, pos = layout(g, W, H);
    box.replaceChildren();
    g.edges.forEach(function (e) {
      box.appendChild(svg("line", { x1: pos[e[0]].x, y1: pos[e[0]].y, x2: pos[e[1]].x, y2: pos[e[1]].y, "data-from": e[0], "data-to": e[1] }));
    });
    g.nodes.forEach(function (node) {
      var p = pos[node.id], grp = svg("g", { "class": "node", tabindex: 0, "data-id": node.id, "data-kind": node.kind }), shape;
      if (node.kind === "ad") shape = svg("circle", { cx: p.x, cy: p.y, r: 8, "class": "ad-" + node.band });
      else if (node.kind === "contact") shape = svg("rect", { x: p.x - 8, y: p.y - 8, width: 16, height: 16, "class": "contact" });
      else shape = svg("polygon", { points: [p.x, p.y - 11, p.x + 11, p.y, p.x, p.y + 11, p.x - 11, p.y].join(" "), "class": "template" });
      var title = svg("title"); title.textContent = node.kind + ": " + node.label;
      shape.appendChild(title);
      grp.appendChild(shape);
      grp.addEventListener("click", function () { showNode(g, node); });
      grp.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); showNode(g, node); } });
      box.appendChild(grp);
    });
    $("nodeads").replaceChildren();
  }
  function showNetworks(nets) {
    var ol = $("netlist");
    ol.replaceChildren();
    nets.forEach(function (g, i) {
      var li = el("li"), b = el("button", "", (g.kind === "contact" ? t("by_contact") : t("by_template")) + " · " + g.size + " " + t("ads") +
        " · " + t("risk") + " " + (g.max_risk == null ? "?" : g.max_risk.toFixed(2)) + (g.contacts.length ? " · " + g.contacts.slice(0, 3).join(", ") : ""));
      b.type = "button";
      b.setAttribute("data-network", g.id);
      b.addEventListener("click", function () {
        var on = ol.querySelectorAll("button.on");
        for (var k = 0; k < on.length; k++) on[k].className = "";
        b.className = "on";
        drawGraph(g);
      });
      li.appendChild(b);
      ol.appendChild(li);
      if (i === 0) b.click();
    });
    if (!nets.length) { ol.appendChild(el("li", "", t("no_networks"))); $("graph").replaceChildren(); }
  }
  function bstatus(msg, error) { var s = $("bstatus"); s.textContent = msg; s.className = error ? "error" : ""; }
  function showBatch(r) {
    lastBatch = r;
    $("bresult").hidden = false;
    $("bsummary").textContent = r.records.length + " " + t("scored_n") + ", " + r.bad.length + " " + t("skipped_n");
    $("dl-jsonl").href = "/v1/desk/result/" + r.id + ".jsonl";
    $("dl-report").href = "/v1/desk/result/" + r.id + ".html?download=1";
    var ul = $("bad");
    ul.replaceChildren();
    r.bad.forEach(function (b) {
      var where = b.line != null ? t("line") + " " + b.line : b.record != null ? t("record") + " " + b.record : "";
      ul.appendChild(el("li", "", where + (b.field ? " (" + b.field + ")" : "") + ": " + b.reason));
    });
    $("badbox").hidden = !r.bad.length;
    showNetworks(r.networks || []);
    $("report").src = "/v1/desk/result/" + r.id + ".html";
    document.body.setAttribute("data-batch", r.id);
  }
  function upload(file) {
    if (!file) return;
    bstatus(t("checking"));
    fetch("/v1/desk/batch?name=" + encodeURIComponent(file.name), { method: "POST", body: file })
      .then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); })
      .then(function (r) {
        if (!r.ok) { bstatus(t("failed") + ": " + ((r.j && r.j.error && r.j.error.message) || "error"), true); return; }
        bstatus("");
        showBatch(r.j);
      })
      .catch(function (e) { bstatus(t("failed") + ": " + e, true); });
  }

  function labelAd(verdict) {
    if (!last) return;
    fetch("/v1/desk/label", { method: "POST", headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: last.text, verdict: verdict, note: $("note").value }) })
      .then(function (r) { $("labelled").textContent = r.ok ? t("labelled") + ": " + t(verdict) : t("failed"); })
      .catch(function () { $("labelled").textContent = t("failed"); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    fetch("/v1/desk/config").then(function (r) { return r.json(); }).then(function (c) { $("labelbox").hidden = !c.labelling; });
    var vb = document.querySelectorAll("#labelbox button[data-verdict]");
    for (var i = 0; i < vb.length; i++) vb[i].addEventListener("click", function () { labelAd(this.getAttribute("data-verdict")); });
    var drop = $("drop");
    $("file").addEventListener("change", function () { upload(this.files[0]); });
    drop.addEventListener("dragover", function (ev) { ev.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
    drop.addEventListener("drop", function (ev) { ev.preventDefault(); drop.classList.remove("over"); upload(ev.dataTransfer.files[0]); });
    drop.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); $("file").click(); } });
    $("go").addEventListener("click", check);
    $("ad").addEventListener("keydown", function (ev) { if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); check(); } });
    $("copy").addEventListener("click", copy);
    $("lang").addEventListener("change", function () { lang = this.value; applyLang(); });
    fetch("/desk/i18n.json").then(function (r) { return r.json(); }).then(function (d) {
      I18N = d;
      var want = (navigator.language || "en").slice(0, 2);
      if (d[want]) { lang = want; $("lang").value = want; }
      applyLang();
      document.documentElement.setAttribute("data-ready", "1");
    });
  });
})();
