// Recruitment networks as a graph of ads, contacts and templates: a small force layout drawn
// in SVG, no library. Shared by the analyst's desk and the static HTML report. Labels go
// through textContent only. NetGraph.show(listEl, svgEl, adsEl, networks, t) lists the
// networks (in the order given: biggest and riskiest first) and draws the first one.
var NetGraph = (function () {
  "use strict";
  var EN = { by_contact: "shared contact", by_template: "shared template", ads: "ads", risk: "Risk", no_networks: "No networks." };
  var parts = {}, t = function (k) { return EN[k] || k; };
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = String(text);
    return e;
  }
  var SVG = "http://www.w3.org/2000/svg";
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
    var ul = parts.ads;
    ul.replaceChildren();
    ul.setAttribute("data-node", node.id);
    g.nodes.forEach(function (m) {
      if (m.kind === "ad" && ids[m.id]) ul.appendChild(el("li", "", m.risk.toFixed(2) + " · " + m.label));
    });
  }
  function drawGraph(g) {
    var box = parts.svg, W = 600, H = 420, pos = layout(g, W, H);
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
    parts.ads.replaceChildren();
  }
  function showNetworks(nets) {
    var ol = parts.list;
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
    if (!nets.length) { ol.appendChild(el("li", "", t("no_networks"))); parts.svg.replaceChildren(); }
  }
  return { show: function (list, svgEl, ads, nets, tr) {
    parts = { list: list, svg: svgEl, ads: ads };
    if (tr) t = tr;
    showNetworks(nets);
  } };
})();
// In the static report: draw from the embedded data (no network access).
document.addEventListener("DOMContentLoaded", function () {
  var data = document.getElementById("network-data");
  if (data) NetGraph.show(document.getElementById("netlist"), document.getElementById("graph"),
    document.getElementById("nodeads"), JSON.parse(data.textContent));
});
