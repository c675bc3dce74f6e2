// The map of the champ « carte »: draw points, lines and polygons; import GPX and KML.
// A progressive enhancement of the GeoJSON textarea (the form works without it). No
// library: a Web Mercator SVG map over a coordinate grid, with raster tiles only when the
// platform configures a tile URL (data-tiles-url).
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var TILE = 256;
  var HEIGHT = 420;
  var MIN_ZOOM = 1;
  var MAX_ZOOM = 19;
  var KINDS = { Point: "Point", LineString: "Ligne", Polygon: "Polygone" };
  var STEPS = [0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
    0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 30, 45];

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function html(name, attrs, text) {
    var node = document.createElement(name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) { node.textContent = text; }
    return node;
  }

  // Web Mercator: [lon, lat] <-> world pixels at zoom z.
  function project(p, z) {
    var size = TILE * Math.pow(2, z);
    var lat = Math.max(-85.05112878, Math.min(85.05112878, p[1])) * Math.PI / 180;
    return [(p[0] + 180) / 360 * size,
      (1 - Math.log(Math.tan(lat) + 1 / Math.cos(lat)) / Math.PI) / 2 * size];
  }

  function unproject(xy, z) {
    var size = TILE * Math.pow(2, z);
    var lon = xy[0] / size * 360 - 180;
    var lat = Math.atan(Math.sinh(Math.PI * (1 - 2 * xy[1] / size))) * 180 / Math.PI;
    return [Math.max(-180, Math.min(180, lon)), lat];
  }

  function round(p) {
    return [Math.round(p[0] * 1e6) / 1e6, Math.round(p[1] * 1e6) / 1e6];
  }

  function fr(x, digits) { return x.toFixed(digits).replace(".", ","); }

  function describe(feature) {
    var g = feature.geometry;
    var name = feature.properties && feature.properties.name ? " « " + feature.properties.name + " »" : "";
    var text = (KINDS[g.type] || g.type) + name + " : ";
    if (g.type === "Point") {
      var c = g.coordinates;
      text += fr(Math.abs(c[1]), 5) + "° " + (c[1] < 0 ? "S" : "N") + ", " +
        fr(Math.abs(c[0]), 5) + "° " + (c[0] < 0 ? "O" : "E");
    } else if (g.type === "LineString") {
      text += g.coordinates.length + " points";
    } else {
      text += (g.coordinates[0].length - 1) + " sommets";
    }
    return text;
  }

  // The features of a GeoJSON text (points, lines, polygons; multi-geometries split).
  function parse(text) {
    var out = [];
    if (!text || !text.trim()) { return out; }
    var value = JSON.parse(text);
    var add = function (geometry, properties) {
      if (!geometry) { return; }
      var t = geometry.type;
      var c = geometry.coordinates;
      if (t === "Point" || t === "LineString" || t === "Polygon") {
        out.push({ type: "Feature", geometry: { type: t, coordinates: c }, properties: properties || {} });
      } else if (t === "MultiPoint" || t === "MultiLineString" || t === "MultiPolygon") {
        c.forEach(function (part) { add({ type: t.slice(5), coordinates: part }, properties); });
      } else if (t === "GeometryCollection") {
        (geometry.geometries || []).forEach(function (g) { add(g, properties); });
      }
    };
    if (value.type === "FeatureCollection") {
      (value.features || []).forEach(function (f) { add(f.geometry, f.properties); });
    } else if (value.type === "Feature") {
      add(value.geometry, value.properties);
    } else {
      add(value, {});
    }
    return out;
  }

  function Carte(container) {
    var self = this;
    this.container = container;
    this.textarea = document.getElementById(container.getAttribute("data-carte-for"));
    this.tilesUrl = container.getAttribute("data-tiles-url") || "";
    this.attribution = container.getAttribute("data-tiles-attribution") || "";
    this.mode = null;
    this.draft = [];
    try { this.features = parse(this.textarea.value); } catch (e) { this.features = []; }

    container.hidden = false;
    var toolbar = html("div", { "class": "dm-carte__toolbar fr-btns-group fr-btns-group--inline fr-btns-group--sm", role: "toolbar", "aria-label": "Outils de dessin" });
    this.buttons = {};
    [["Point", "Ajouter un point"], ["LineString", "Tracer une ligne"], ["Polygon", "Tracer un polygone"]].forEach(function (tool) {
      var b = html("button", { type: "button", "class": "fr-btn fr-btn--secondary fr-btn--sm", "aria-pressed": "false", "data-tool": tool[0] }, tool[1]);
      b.addEventListener("click", function () { self.setMode(self.mode === tool[0] ? null : tool[0]); });
      toolbar.appendChild(b);
      self.buttons[tool[0]] = b;
    });
    this.finish = html("button", { type: "button", "class": "fr-btn fr-btn--sm", "data-tool": "finish", hidden: "" }, "Terminer le tracé");
    this.finish.addEventListener("click", function () { self.finishDraft(); });
    this.cancel = html("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm", hidden: "" }, "Annuler le tracé");
    this.cancel.addEventListener("click", function () { self.setMode(null); });
    toolbar.appendChild(this.finish);
    toolbar.appendChild(this.cancel);
    var zoomIn = html("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm", title: "Zoomer" }, "+");
    zoomIn.setAttribute("aria-label", "Zoomer");
    zoomIn.addEventListener("click", function () { self.zoomAt(self.zoom + 1); });
    var zoomOut = html("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm", title: "Dézoomer" }, "−");
    zoomOut.setAttribute("aria-label", "Dézoomer");
    zoomOut.addEventListener("click", function () { self.zoomAt(self.zoom - 1); });
    var fit = html("button", { type: "button", "class": "fr-btn fr-btn--tertiary fr-btn--sm" }, "Recentrer");
    fit.addEventListener("click", function () { self.fit(); self.render(); });
    toolbar.appendChild(zoomIn);
    toolbar.appendChild(zoomOut);
    toolbar.appendChild(fit);
    container.appendChild(toolbar);

    this.svg = el("svg", { "class": "dm-carte__svg", role: "application", tabindex: "0", height: String(HEIGHT), width: "100%",
      "aria-label": "Carte : cliquez pour dessiner. Au clavier : flèches pour déplacer, + et − pour zoomer, Entrée pour placer un point au centre." });
    container.appendChild(this.svg);
    this.status = html("p", { "class": "fr-text--sm dm-carte__status", "aria-live": "polite" });
    container.appendChild(this.status);
    this.list = html("ul", { "class": "dm-carte__list" });
    container.appendChild(this.list);

    // The textarea stays the value sent with the form; folded under the map.
    var details = html("details", { "class": "dm-carte__source fr-mt-1w" });
    details.appendChild(html("summary", {}, "Voir ou modifier le tracé au format GeoJSON"));
    this.textarea.parentNode.insertBefore(details, this.textarea);
    details.appendChild(this.textarea);
    this.textarea.addEventListener("input", function () {
      try { self.features = parse(self.textarea.value); self.render(); self.renderList(); } catch (e) { /* typing */ }
    });

    this.bindPointer();
    this.bindImport();
    this.fit();
    this.render();
    this.renderList();
    window.addEventListener("resize", function () { self.render(); });
  }

  Carte.prototype.size = function () {
    return [Math.max(this.svg.clientWidth || this.container.clientWidth || 600, 200), HEIGHT];
  };

  // The view that shows every geometry (France when there is none).
  Carte.prototype.fit = function () {
    var points = [];
    this.features.forEach(function (f) {
      var c = f.geometry.coordinates;
      if (f.geometry.type === "Point") { points.push(c); }
      else if (f.geometry.type === "LineString") { points = points.concat(c); }
      else { points = points.concat(c[0]); }
    });
    if (!points.length) { this.center = [2.4, 46.6]; this.zoom = 5; return; }
    var xs = points.map(function (p) { return project(p, 0); });
    var minX = Math.min.apply(null, xs.map(function (p) { return p[0]; }));
    var maxX = Math.max.apply(null, xs.map(function (p) { return p[0]; }));
    var minY = Math.min.apply(null, xs.map(function (p) { return p[1]; }));
    var maxY = Math.max.apply(null, xs.map(function (p) { return p[1]; }));
    var size = this.size();
    var span = Math.max((maxX - minX) / (size[0] * 0.8), (maxY - minY) / (size[1] * 0.8), 1e-9);
    this.zoom = Math.max(MIN_ZOOM, Math.min(16, Math.floor(Math.log(1 / span) / Math.LN2)));
    this.center = unproject([(minX + maxX) / 2, (minY + maxY) / 2], 0);
  };

  // Screen pixel <-> [lon, lat] in the current view.
  Carte.prototype.origin = function () {
    var c = project(this.center, this.zoom);
    var size = this.size();
    return [c[0] - size[0] / 2, c[1] - size[1] / 2];
  };

  Carte.prototype.toScreen = function (p) {
    var o = this.origin();
    var xy = project(p, this.zoom);
    return [xy[0] - o[0], xy[1] - o[1]];
  };

  Carte.prototype.toLonLat = function (x, y) {
    var o = this.origin();
    return round(unproject([o[0] + x, o[1] + y], this.zoom));
  };

  Carte.prototype.zoomAt = function (zoom, screen) {
    zoom = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, zoom));
    if (zoom === this.zoom) { return; }
    var size = this.size();
    var at = screen || [size[0] / 2, size[1] / 2];
    var fixed = this.toLonLat(at[0], at[1]);
    this.zoom = zoom;
    var xy = project(fixed, zoom);
    this.center = unproject([xy[0] - at[0] + size[0] / 2, xy[1] - at[1] + size[1] / 2], zoom);
    this.render();
  };

  Carte.prototype.setMode = function (mode) {
    var self = this;
    this.mode = mode;
    this.draft = [];
    Object.keys(this.buttons).forEach(function (k) { self.buttons[k].setAttribute("aria-pressed", String(k === mode)); });
    this.finish.hidden = !(mode === "LineString" || mode === "Polygon");
    this.cancel.hidden = !mode;
    this.svg.classList.toggle("dm-carte__svg--drawing", !!mode);
    var hints = {
      Point: "Cliquez sur la carte pour placer le point.",
      LineString: "Cliquez sur la carte pour chaque point de la ligne, puis « Terminer le tracé ».",
      Polygon: "Cliquez sur la carte pour chaque sommet du polygone, puis « Terminer le tracé »."
    };
    this.say(mode ? hints[mode] : "");
    this.render();
  };

  Carte.prototype.say = function (text) { this.status.textContent = text; };

  Carte.prototype.click = function (x, y) {
    var p = this.toLonLat(x, y);
    if (this.mode === "Point") {
      this.add({ type: "Point", coordinates: p });
      this.say("Point ajouté.");
      return;
    }
    if (this.mode) {
      this.draft.push(p);
      this.say(this.draft.length + " point(s) placé(s).");
      this.render();
    }
  };

  Carte.prototype.finishDraft = function () {
    if (this.mode === "LineString") {
      if (this.draft.length < 2) { this.say("Une ligne doit avoir au moins deux points."); return; }
      this.add({ type: "LineString", coordinates: this.draft.slice() });
    } else if (this.mode === "Polygon") {
      if (this.draft.length < 3) { this.say("Un polygone doit avoir au moins trois sommets."); return; }
      this.add({ type: "Polygon", coordinates: [this.draft.concat([this.draft[0]])] });
    }
    var kind = KINDS[this.mode];
    this.setMode(null);
    this.say(kind + " ajouté(e).");
  };

  Carte.prototype.add = function (geometry) {
    this.features.push({ type: "Feature", geometry: geometry, properties: {} });
    this.changed();
  };

  Carte.prototype.changed = function () {
    this.textarea.value = this.features.length
      ? JSON.stringify({ type: "FeatureCollection", features: this.features })
      : "";
    this.textarea.dispatchEvent(new Event("change", { bubbles: true }));
    this.render();
    this.renderList();
  };

  Carte.prototype.renderList = function () {
    var self = this;
    this.list.textContent = "";
    this.features.forEach(function (f, i) {
      var li = html("li", { "class": "dm-carte__item" }, describe(f) + " ");
      var b = html("button", { type: "button", "class": "fr-btn fr-btn--tertiary-no-outline fr-btn--sm" }, "Supprimer");
      b.appendChild(html("span", { "class": "fr-sr-only" }, " " + describe(f)));
      b.addEventListener("click", function () {
        self.features.splice(i, 1);
        self.changed();
        self.say("Géométrie supprimée.");
      });
      li.appendChild(b);
      self.list.appendChild(li);
    });
  };

  Carte.prototype.render = function () {
    var self = this;
    var svg = this.svg;
    var size = this.size();
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    el("rect", { x: 0, y: 0, width: size[0], height: size[1], "class": "dm-carte__background" }, svg);
    var o = this.origin();
    var z = this.zoom;
    if (this.tilesUrl) {
      var n = Math.pow(2, z);
      for (var tx = Math.floor(o[0] / TILE); tx * TILE < o[0] + size[0]; tx++) {
        for (var ty = Math.max(0, Math.floor(o[1] / TILE)); ty * TILE < o[1] + size[1] && ty < n; ty++) {
          var url = this.tilesUrl.replace("{z}", z).replace("{x}", ((tx % n) + n) % n).replace("{y}", ty).replace("{s}", "a");
          el("image", { href: url, x: tx * TILE - o[0], y: ty * TILE - o[1], width: TILE, height: TILE }, svg);
        }
      }
    }
    // The coordinate grid, about every 120 pixels.
    var degPerPx = 360 / (TILE * Math.pow(2, z));
    var step = STEPS.filter(function (s) { return s >= degPerPx * 120; })[0] || 45;
    var digits = Math.max(0, Math.ceil(-Math.log(step) / Math.LN10));
    var nw = this.toLonLat(0, 0);
    var se = this.toLonLat(size[0], size[1]);
    var grid = el("g", { "class": "dm-carte__grid" }, svg);
    var lon, lat, s;
    for (lon = Math.ceil(nw[0] / step) * step; lon <= se[0]; lon += step) {
      s = this.toScreen([lon, 0]);
      el("line", { x1: s[0], y1: 0, x2: s[0], y2: size[1] }, grid);
      el("text", { x: s[0] + 3, y: size[1] - 4 }, grid).textContent = fr(lon, digits) + "°";
    }
    for (lat = Math.ceil(se[1] / step) * step; lat <= nw[1]; lat += step) {
      s = this.toScreen([0, lat]);
      el("line", { x1: 0, y1: s[1], x2: size[0], y2: s[1] }, grid);
      el("text", { x: 3, y: s[1] - 3 }, grid).textContent = fr(lat, digits) + "°";
    }
    var pts = function (coords) { return coords.map(function (c) { var p = self.toScreen(c); return p[0] + "," + p[1]; }).join(" "); };
    var shapes = el("g", { "class": "dm-carte__shapes" }, svg);
    this.features.forEach(function (f) {
      var g = f.geometry;
      if (g.type === "Point") {
        var p = self.toScreen(g.coordinates);
        el("circle", { cx: p[0], cy: p[1], r: 7, "class": "dm-carte__point" }, shapes);
      } else if (g.type === "LineString") {
        el("polyline", { points: pts(g.coordinates), "class": "dm-carte__line" }, shapes);
      } else if (g.type === "Polygon") {
        el("path", { d: g.coordinates.map(function (r) { return "M" + pts(r) + "Z"; }).join(" "), "class": "dm-carte__polygon", "fill-rule": "evenodd" }, shapes);
      }
    });
    if (this.draft.length) {
      el(this.mode === "Polygon" ? "polygon" : "polyline", { points: pts(this.draft), "class": "dm-carte__draft" }, shapes);
      this.draft.forEach(function (c) {
        var p = self.toScreen(c);
        el("circle", { cx: p[0], cy: p[1], r: 4, "class": "dm-carte__vertex" }, shapes);
      });
    }
    if (this.mode) {
      var cx = size[0] / 2;
      var cy = size[1] / 2;
      el("path", { d: "M" + (cx - 8) + "," + cy + "H" + (cx + 8) + "M" + cx + "," + (cy - 8) + "V" + (cy + 8), "class": "dm-carte__cross" }, svg);
    }
    var credit = this.tilesUrl ? this.attribution : "Grille de coordonnées (WGS 84)";
    if (credit) {
      el("text", { x: size[0] - 4, y: 14, "text-anchor": "end", "class": "dm-carte__credit" }, svg).textContent = credit;
    }
  };

  Carte.prototype.bindPointer = function () {
    var self = this;
    var svg = this.svg;
    var start = null;
    var local = function (e) {
      var r = svg.getBoundingClientRect();
      return [e.clientX - r.left, e.clientY - r.top];
    };
    svg.addEventListener("pointerdown", function (e) {
      start = { at: local(e), center: self.center, moved: false };
      if (svg.setPointerCapture) { try { svg.setPointerCapture(e.pointerId); } catch (err) { /* ignore */ } }
    });
    svg.addEventListener("pointermove", function (e) {
      if (!start) { return; }
      var at = local(e);
      var dx = at[0] - start.at[0];
      var dy = at[1] - start.at[1];
      if (!start.moved && Math.abs(dx) + Math.abs(dy) < 5) { return; }
      start.moved = true;
      var c = project(start.center, self.zoom);
      self.center = unproject([c[0] - dx, c[1] - dy], self.zoom);
      self.render();
    });
    svg.addEventListener("pointerup", function (e) {
      if (start && !start.moved) {
        var at = local(e);
        self.click(at[0], at[1]);
      }
      start = null;
    });
    svg.addEventListener("pointercancel", function () { start = null; });
    svg.addEventListener("dblclick", function (e) {
      e.preventDefault();
      if (self.mode === "LineString" || self.mode === "Polygon") { self.finishDraft(); }
    });
    // Keyboard: arrows pan, + and − zoom, Enter places a point (or a vertex) at the centre
    // (marked by a cross while drawing), Escape cancels.
    svg.addEventListener("keydown", function (e) {
      var size = self.size();
      var pan = { ArrowLeft: [-80, 0], ArrowRight: [80, 0], ArrowUp: [0, -80], ArrowDown: [0, 80] }[e.key];
      if (pan) {
        var c = project(self.center, self.zoom);
        self.center = unproject([c[0] + pan[0], c[1] + pan[1]], self.zoom);
        self.render();
      } else if (e.key === "+" || e.key === "=") {
        self.zoomAt(self.zoom + 1);
      } else if (e.key === "-") {
        self.zoomAt(self.zoom - 1);
      } else if (e.key === "Enter" && self.mode) {
        self.click(size[0] / 2, size[1] / 2);
      } else if (e.key === "Escape" && self.mode) {
        self.setMode(null);
      } else {
        return;
      }
      e.preventDefault();
    });
    svg.addEventListener("wheel", function (e) {
      e.preventDefault();
      self.zoomAt(self.zoom + (e.deltaY < 0 ? 1 : -1), local(e));
    }, { passive: false });
  };

  // With JavaScript the import only converts the file (nothing is saved): its geometries
  // join the ones on the map, so nothing drawn is lost.
  Carte.prototype.bindImport = function () {
    var self = this;
    var id = this.container.getAttribute("data-import-form");
    var form = id && document.getElementById(id);
    if (!form || !window.fetch || !window.FormData) { return; }
    var message = document.getElementById(id + "-message");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (message) { message.textContent = ""; }
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        headers: { Accept: "application/json" }
      }).then(function (res) {
        return res.json().then(function (body) { return { ok: res.ok, body: body }; });
      }).then(function (r) {
        if (!r.ok || !r.body.geojson) {
          if (message) { message.textContent = r.body.error || "Le fichier n’a pas pu être importé."; }
          return;
        }
        var imported = parse(JSON.stringify(r.body.geojson));
        self.features = self.features.concat(imported);
        self.changed();
        self.fit();
        self.render();
        self.say(imported.length + " géométrie(s) importée(s) : enregistrez pour les conserver.");
      }).catch(function () {
        if (message) { message.textContent = "Le fichier n’a pas pu être importé. Réessayez."; }
      });
    });
  };

  Array.prototype.forEach.call(document.querySelectorAll("[data-carte-for]"), function (container) {
    if (document.getElementById(container.getAttribute("data-carte-for"))) { new Carte(container); }
  });
})();
