/* trafficking-ads report: table, filters, pagination and per-ad view.
 * Ad data is untrusted: it only ever reaches the page through textContent and
 * setAttribute on non-executable attributes; links are made for http(s) URLs only. */
(function () {
  "use strict";
  var T0 = performance.now();
  var D = JSON.parse(document.getElementById("report-data").textContent);
  var T1 = performance.now();
  var A = D.ads;
  var C = {}; D.columns.forEach(function (name, i) { C[name] = i; });
  var PAGE = D.meta.page_size || 100, SNIP = D.meta.snippet || 160;
  var CTL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
  var state = { band: "", lang: "", src: "", ind: "", cluster: null, q: "", sort: "risk", dir: -1, page: 0, rows: [] };
  var $ = function (id) { return document.getElementById(id); };

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) appendSafe(e, String(text));
    return e;
  }
  function marker(ch) {
    var h = ch.charCodeAt(0).toString(16).toUpperCase();
    while (h.length < 4) h = "0" + h;
    return "[U+" + h + "]";
  }
  function neutralize(s) { return String(s).replace(CTL, marker); }
  /* Text with bidi/control characters replaced by visible, inert markers. */
  function appendSafe(parent, s) {
    var last = 0, m;
    CTL.lastIndex = 0;
    while ((m = CTL.exec(s)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(s.slice(last, m.index)));
      var mk = document.createElement("span");
      mk.className = "ctl";
      mk.title = "hidden control character made visible";
      mk.textContent = marker(m[0]);
      parent.appendChild(mk);
      last = m.index + m[0].length;
    }
    if (last < s.length) parent.appendChild(document.createTextNode(s.slice(last)));
  }
  function bdi(cls, text) { var b = el("bdi", cls); appendSafe(b, text || ""); return b; }
  function fmt(n) { return n.toLocaleString("en-US"); }
  function bandName(a) { return D.bands[a[C.band]]; }
  function safeUrl(u) {
    if (!u) return null;
    try { var p = new URL(u); } catch (e) { return null; }
    return (p.protocol === "http:" || p.protocol === "https:") ? p.href : null;
  }

  /* ---- filters ---------------------------------------------------------------- */
  function fillSelect(sel, names, counts) {
    var order = names.map(function (n, i) { return i; });
    order.sort(function (x, y) { return (counts[y] - counts[x]) || (names[x] < names[y] ? -1 : 1); });
    order.forEach(function (i) {
      var o = document.createElement("option");
      o.value = String(i);
      o.textContent = neutralize(names[i] || "unknown") + " (" + fmt(counts[i]) + ")";
      sel.appendChild(o);
    });
  }
  function counts(n, f) { var c = new Array(n).fill(0); A.forEach(function (a) { f(a, c); }); return c; }
  fillSelect($("f-band"), D.bands, counts(3, function (a, c) { c[a[C.band]]++; }));
  fillSelect($("f-lang"), D.langs, counts(D.langs.length, function (a, c) { c[a[C.lang]]++; }));
  fillSelect($("f-src"), D.sources, counts(D.sources.length, function (a, c) { c[a[C.source]]++; }));
  fillSelect($("f-ind"), D.indicators, counts(D.indicators.length, function (a, c) {
    var seen = {}; a[C.hits].forEach(function (h) { if (!seen[h[0]]) { seen[h[0]] = 1; c[h[0]]++; } });
  }));

  function hasInd(a, k) { var h = a[C.hits]; for (var i = 0; i < h.length; i++) if (h[i][0] === k) return true; return false; }
  var KEYS = {
    risk: function (a) { return a[C.risk]; }, band: function (a) { return a[C.band]; },
    lang: function (a) { return D.langs[a[C.lang]]; }, source: function (a) { return D.sources[a[C.source]]; },
    title: function (a) { return (a[C.title] || a[C.text]).slice(0, 80).toLowerCase(); }, nind: function (a) { return a[C.hits].length; },
    posted: function (a) { return a[C.posted_at]; }
  };
  function apply(keepPage) {
    var t0 = performance.now();
    var q = state.q.trim(), re = q ? new RegExp(q.replace(/[.*+?^${}()|[\]\\\/-]/g, "\\$&"), "i") : null;
    var band = state.band === "" ? -1 : +state.band, lang = state.lang === "" ? -1 : +state.lang;
    var src = state.src === "" ? -1 : +state.src, ind = state.ind === "" ? -1 : +state.ind, cl = state.cluster;
    var out = [];
    for (var i = 0; i < A.length; i++) {
      var a = A[i];
      if (band >= 0 && a[C.band] !== band) continue;
      if (lang >= 0 && a[C.lang] !== lang) continue;
      if (src >= 0 && a[C.source] !== src) continue;
      if (ind >= 0 && !hasInd(a, ind)) continue;
      if (cl && !(a[C.network] && a[C.network][cl.kind] !== undefined && a[C.network][cl.kind] !== null &&
                  neutralize(String(a[C.network][cl.kind])) === cl.value)) continue;
      if (re && !(re.test(a[C.text]) || re.test(a[C.title]) || a[C.id].indexOf(q) >= 0)) continue;
      out.push(i);
    }
    var key = KEYS[state.sort], dir = state.dir;
    var keyed = out.map(function (i) { return [key(A[i]), i]; });  /* each key computed once */
    keyed.sort(function (x, y) { return x[0] < y[0] ? -dir : x[0] > y[0] ? dir : x[1] - y[1]; });
    state.rows = keyed.map(function (k) { return k[1]; });
    if (!keepPage) state.page = 0;
    render();
    window.__lastApplyMs = performance.now() - t0;  /* read by benchmarks/report_size.py */
  }

  /* ---- table ------------------------------------------------------------------ */
  function snippet(s) { return s.length > SNIP ? s.slice(0, SNIP) + "…" : s; }
  function render() {
    var rows = state.rows, pages = Math.max(1, Math.ceil(rows.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var from = state.page * PAGE, to = Math.min(rows.length, from + PAGE);
    var tbody = document.createElement("tbody");
    for (var r = from; r < to; r++) tbody.appendChild(row(rows[r]));
    var table = $("rows");
    table.replaceChild(tbody, table.tBodies[0]);
    var filtered = rows.length !== A.length;
    $("count").textContent = rows.length ? "Showing " + fmt(from + 1) + "–" + fmt(to) + " of " + fmt(rows.length) + " ads" +
      (filtered ? " (filtered from " + fmt(A.length) + ")" : "") : "No ads match" + (filtered ? " (of " + fmt(A.length) + ")" : "");
    $("page").textContent = "Page " + fmt(state.page + 1) + " of " + fmt(pages);
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
    Array.prototype.forEach.call(document.querySelectorAll("th button"), function (b) {
      b.className = b.getAttribute("data-sort") === state.sort ? (state.dir < 0 ? "sorted desc" : "sorted asc") : "";
    });
  }
  function badge(band) { return el("span", "badge band-" + band, band); }
  function row(i) {
    var a = A[i], tr = document.createElement("tr");
    tr.setAttribute("data-index", String(i));
    tr.appendChild(el("td", "num", a[C.risk].toFixed(3)));
    var tb = el("td"); tb.appendChild(badge(bandName(a))); tr.appendChild(tb);
    tr.appendChild(el("td", null, D.langs[a[C.lang]] || "?"));
    tr.appendChild(el("td", null, D.sources[a[C.source]] || ""));
    var td = el("td", "ad");
    var open = el("button", "open");
    open.type = "button";
    if (a[C.title]) open.appendChild(bdi("title", snippet(a[C.title])));
    open.appendChild(bdi("snippet", snippet(a[C.text])));
    td.appendChild(open);
    tr.appendChild(td);
    var names = [], seen = {};
    a[C.hits].forEach(function (h) { if (!seen[h[0]]) { seen[h[0]] = 1; names.push(D.indicators[h[0]]); } });
    tr.appendChild(el("td", "inds", names.join(", ")));
    tr.appendChild(el("td", "date", (a[C.posted_at] || "").slice(0, 10)));
    return tr;
  }

  /* ---- per-ad view ------------------------------------------------------------ */
  function fieldText(a, name) {
    if (name === "title") return a[C.title] || "";
    if (name === "text") return a[C.text] || "";
    return (a[C.extra] && a[C.extra][name]) || "";
  }
  function highlighted(a, name, colour) {
    var text = fieldText(a, name), fi = D.fields.indexOf(name), spans = [];
    a[C.hits].forEach(function (h) {
      h[2].forEach(function (s) { if (s[0] === fi && s[0] >= 0 && s[2] > s[1]) spans.push([s[1], s[2], h[0]]); });
    });
    var cuts = [0, text.length];
    spans.forEach(function (s) { cuts.push(Math.max(0, Math.min(text.length, s[0])), Math.max(0, Math.min(text.length, s[1]))); });
    cuts = cuts.filter(function (v, i, arr) { return arr.indexOf(v) === i; }).sort(function (x, y) { return x - y; });
    var out = bdi("field-text");
    for (var k = 0; k + 1 < cuts.length; k++) {
      var s = cuts[k], e = cuts[k + 1], ids = [];
      spans.forEach(function (sp) { if (sp[0] <= s && e <= sp[1] && ids.indexOf(sp[2]) < 0) ids.push(sp[2]); });
      var piece = text.slice(s, e);
      if (!ids.length) { appendSafe(out, piece); continue; }
      var m = el("mark", "ev c" + (colour[ids[0]] % 8));
      m.title = ids.map(function (x) { return D.indicators[x]; }).join(", ");
      appendSafe(m, piece);
      out.appendChild(m);
    }
    return out;
  }
  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) { if (p[1] === null || p[1] === undefined || p[1] === "") return; d.appendChild(el("dt", null, p[0])); var dd = el("dd"); if (p[1].nodeType) dd.appendChild(p[1]); else appendSafe(dd, String(p[1])); d.appendChild(dd); });
    return d;
  }
  function bar(value) {
    var NS = "http://www.w3.org/2000/svg", svg = document.createElementNS(NS, "svg"), r = document.createElementNS(NS, "rect");
    svg.setAttribute("width", "120"); svg.setAttribute("height", "10"); svg.setAttribute("class", "cbar");
    r.setAttribute("x", "0"); r.setAttribute("y", "0"); r.setAttribute("height", "10");
    r.setAttribute("width", String(Math.round(Math.min(1, Math.abs(value)) * 120)));
    r.setAttribute("class", value >= 0 ? "up" : "down");
    svg.appendChild(r);
    return svg;
  }
  function showDetail(i) {
    var a = A[i], box = $("detail");
    while (box.firstChild) box.removeChild(box.firstChild);
    var head = el("div", "detail-head");
    var back = el("button", "back", "↑ back to table"); back.type = "button";
    back.addEventListener("click", function () { $("ads").scrollIntoView(); });
    head.appendChild(back);
    head.appendChild(el("h2", null, "Ad " + a[C.id]));
    box.appendChild(head);
    var risk = el("p", "verdict");
    risk.appendChild(el("span", "risk", a[C.risk].toFixed(3)));
    risk.appendChild(badge(bandName(a)));
    box.appendChild(risk);
    var link = null, url = a[C.url];
    if (url) {
      var safe = a[C.linkable] ? safeUrl(url) : null;
      if (safe) {
        link = el("a", "source-link", url);
        link.setAttribute("href", safe);
        link.setAttribute("rel", "noopener noreferrer");
        link.setAttribute("target", "_blank");
      } else {
        link = el("span", "url-inert", url);
        link.appendChild(el("span", "note", " (not a web link)"));
      }
    }
    box.appendChild(dl([["Language", D.langs[a[C.lang]] || "unknown"], ["Source", D.sources[a[C.source]]], ["URL", link],
      ["Posted", a[C.posted_at]], ["Model", D.models[a[C.model]]]]));

    var colour = {};
    a[C.hits].forEach(function (h, n) { if (colour[h[0]] === undefined) colour[h[0]] = n; });
    ["title", "company_name", "location", "contacts", "text"].forEach(function (name) {
      if (!fieldText(a, name)) return;
      var f = el("div", "field f-" + name);
      f.appendChild(el("h3", null, name.replace("_", " ")));
      f.appendChild(highlighted(a, name, colour));
      var cut = a[C.extra] && a[C.extra]._truncated && a[C.extra]._truncated[name];
      if (cut) f.appendChild(el("p", "note", "… " + fmt(cut) + " more characters not included in this report"));
      box.appendChild(f);
    });

    box.appendChild(el("h3", null, "Indicators"));
    if (!a[C.hits].length) box.appendChild(el("p", "empty", "No indicators found."));
    else {
      var t = el("table", "inds-table"), th = el("tr");
      ["indicator", "category", "weight", "evidence"].forEach(function (h) { th.appendChild(el("th", null, h)); });
      var thead = el("thead"); thead.appendChild(th); t.appendChild(thead);
      var tb = el("tbody");
      a[C.hits].forEach(function (h) {
        var tr = el("tr");
        var idc = el("td"), chip = el("span", "chip c" + (colour[h[0]] % 8), D.indicators[h[0]]); idc.appendChild(chip); tr.appendChild(idc);
        tr.appendChild(el("td", null, D.categories[h[0]]));
        tr.appendChild(el("td", "num" + (h[1] < 0 ? " neg" : ""), (h[1] >= 0 ? "+" : "") + h[1].toFixed(2)));
        var ev = el("td", "evidence");
        h[2].forEach(function (s) {
          var q = el("q");
          if (s[0] >= 0) { appendSafe(q, fieldText(a, D.fields[s[0]]).slice(s[1], s[2])); if (D.fields[s[0]] !== "text") q.appendChild(el("span", "note", " (" + D.fields[s[0]] + ")")); }
          else { appendSafe(q, s[1]); q.appendChild(el("span", "note", " (not found in ad)")); }
          ev.appendChild(q);
        });
        tr.appendChild(ev);
        tb.appendChild(tr);
      });
      t.appendChild(tb);
      box.appendChild(t);
    }

    box.appendChild(el("h3", null, "How the risk was built"));
    var comps = a[C.components];
    var ct = el("table", "comps"), cb = el("tbody"), anyContrib = false;
    comps.forEach(function (c) {
      var key = D.components[c[0]], contrib = key.indexOf("contrib_") === 0, tr = el("tr");
      anyContrib = anyContrib || contrib;
      tr.appendChild(el("td", null, (contrib ? "contribution: " : "") + D.component_labels[c[0]]));
      tr.appendChild(el("td", "num", (contrib && c[1] >= 0 ? "+" : "") + c[1].toFixed(3)));
      var bc = el("td"); if (contrib) bc.appendChild(bar(c[1])); tr.appendChild(bc);
      cb.appendChild(tr);
    });
    var total = 0; a[C.hits].forEach(function (h) { total += h[1]; });
    var tr = el("tr"); tr.appendChild(el("td", null, "indicator weights, total")); tr.appendChild(el("td", "num", (total >= 0 ? "+" : "") + total.toFixed(2))); tr.appendChild(el("td"));
    cb.appendChild(tr);
    ct.appendChild(cb);
    box.appendChild(ct);
    if (!anyContrib) box.appendChild(el("p", "note", "The model reported no per-part contributions (no contrib_* components)."));

    var net = a[C.network];
    if (net) {
      box.appendChild(el("h3", null, "Network"));
      box.appendChild(dl(Object.keys(net).map(function (k) {
        var v = net[k];
        if (Array.isArray(v) && v.every(function (x) { return typeof x !== "object" || x === null; })) return [k, v.length ? v.join("; ") : "—"];
        return [k, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)];
      })));
    }
    box.hidden = false;
    box.scrollIntoView();
  }

  /* ---- events ----------------------------------------------------------------- */
  $("rows").addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr[data-index]");
    if (tr) showDetail(+tr.getAttribute("data-index"));
  });
  document.querySelector("#rows thead").addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-sort]");
    if (!b) return;
    var key = b.getAttribute("data-sort");
    if (state.sort === key) state.dir = -state.dir; else { state.sort = key; state.dir = key === "risk" || key === "nind" || key === "band" ? -1 : 1; }
    apply(false);
  });
  var timer = null;
  $("q").addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.q = $("q").value; apply(false); }, A.length > 5000 ? 200 : 60);
  });
  [["f-band", "band"], ["f-lang", "lang"], ["f-src", "src"], ["f-ind", "ind"]].forEach(function (p) {
    $(p[0]).addEventListener("change", function () { state[p[1]] = $(p[0]).value; apply(false); });
  });
  $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
  function setCluster(kind, value) {
    state.cluster = kind ? { kind: kind, value: value } : null;
    $("f-cluster").hidden = !kind;
    $("f-cluster-label").textContent = kind ? "cluster " + kind.replace("_cluster", "") + " " + value : "";
    apply(false);
  }
  $("f-cluster-clear").addEventListener("click", function () { setCluster(null); });
  $("reset").addEventListener("click", function () {
    $("q").value = ""; ["f-band", "f-lang", "f-src", "f-ind"].forEach(function (id) { $(id).value = ""; });
    state.q = state.band = state.lang = state.src = state.ind = ""; setCluster(null);
  });
  $("prev").addEventListener("click", function () { state.page--; render(); });
  $("next").addEventListener("click", function () { state.page++; render(); });
  /* Overview charts and cards filter the table. */
  function overviewFilter(target) {
    var c = target.closest("[data-filter]");
    if (c) {
      var kind = c.getAttribute("data-filter"), value = c.getAttribute("data-value");
      var names = { band: D.bands, lang: D.langs, src: D.sources, ind: D.indicators }[kind];
      var idx = -1;
      for (var i = 0; i < names.length; i++) if (neutralize(names[i] || (kind === "ind" ? "" : "unknown")) === value) { idx = i; break; }
      if (idx >= 0) { $("f-" + kind).value = String(idx); state[kind] = String(idx); apply(false); $("ads").scrollIntoView(); }
      return;
    }
    var b = target.closest("button.show-cluster");
    if (b) { setCluster(b.getAttribute("data-kind"), b.getAttribute("data-value")); $("ads").scrollIntoView(); }
  }
  $("overview").addEventListener("click", function (ev) { overviewFilter(ev.target); });
  $("overview").addEventListener("keydown", function (ev) { if (ev.key === "Enter") overviewFilter(ev.target); });

  apply(false);
  window.__reportReady = performance.now();
  /* where load time goes (read by benchmarks/report_size.py) */
  window.__reportTimings = { script_start: T0, json_parsed: T1, ready: window.__reportReady };
  document.documentElement.setAttribute("data-ready", "1");
})();
