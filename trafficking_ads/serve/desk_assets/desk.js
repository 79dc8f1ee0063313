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

  var lastBatch = null;
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
    NetGraph.show($("netlist"), $("graph"), $("nodeads"), r.networks || [], t);
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
