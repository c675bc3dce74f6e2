// Progressive enhancements only: every page works without JavaScript.
(function () {
  "use strict";
  // Focus the error summary so screen readers announce it.
  var summary = document.getElementById("error-summary") || document.getElementById("instruction-error");
  if (summary) { summary.focus(); }

  // Live dossiers table: a page with data-live-url listens to server-sent events and
  // refreshes the changed line from data-row-url ({id} = dossier number).
  var live = document.querySelector("[data-live-url]");
  if (live && window.EventSource && window.fetch) {
    var tbody = document.getElementById("dossiers-live");
    var notice = document.getElementById("dossiers-notice");
    var rowUrl = live.getAttribute("data-row-url");
    var libelles = {
      en_construction: "En construction",
      en_instruction: "En instruction",
      accepte: "Accepté",
      refuse: "Refusé",
      sans_suite: "Classé sans suite"
    };
    var announce = function (text) { if (notice) { notice.textContent = text; } };
    var refresh = function (event) {
      var id = parseInt(event.dossier_id, 10);
      if (!id || !tbody || !rowUrl) { return; }
      fetch(rowUrl.replace("{id}", String(id)), { credentials: "same-origin", headers: { Accept: "text/html" } })
        .then(function (res) {
          var existing = document.getElementById("dossier-" + id);
          if (res.status === 204) {
            // No longer in this tab.
            if (existing) { existing.parentNode.removeChild(existing); }
            announce("Dossier n° " + id + " : " + (libelles[event.state] || event.state));
            return null;
          }
          if (!res.ok) { return null; }
          return res.text().then(function (html) {
            var holder = document.createElement("tbody");
            holder.innerHTML = html.trim();
            var row = holder.querySelector("tr");
            if (!row) { return; }
            row.classList.add("dm-live-new");
            if (existing) {
              existing.parentNode.replaceChild(row, existing);
            } else {
              var empty = tbody.querySelector(".dm-empty");
              if (empty) { empty.parentNode.removeChild(empty); }
              tbody.insertBefore(row, tbody.firstChild);
            }
            if (event.change === "passer_en_construction") {
              announce("Nouveau dossier n° " + id + " déposé");
            } else {
              announce("Dossier n° " + id + " : " + (row.getAttribute("data-etat-libelle") || libelles[event.state] || event.state));
            }
          });
        })
        .catch(function () { /* the next event or a reload shows it */ });
    };
    var source = new EventSource(live.getAttribute("data-live-url"));
    source.addEventListener("open", function () { live.setAttribute("data-live-state", "open"); });
    source.addEventListener("error", function () { live.setAttribute("data-live-state", "reconnecting"); });
    source.addEventListener("dossier", function (e) {
      var event;
      try { event = JSON.parse(e.data); } catch (_) { return; }
      refresh(event);
    });
  }

  // Conditional champs: the form's wrappers carry their condition (data-condition); the
  // evaluator is the server's own Rust code compiled to WebAssembly (/static/logic.wasm,
  // plain C ABI). Without it, or without JavaScript, the server shows the visibility after
  // each save.
  var dossierForm = document.getElementById("dossier-form");
  if (dossierForm && dossierForm.querySelector("[data-condition]") && window.WebAssembly &&
      window.fetch && window.TextEncoder && window.TextDecoder) {
    var wrappers = Array.prototype.slice.call(dossierForm.querySelectorAll(".dm-champ-field"));
    var idOf = function (el) { return el.id.replace(/^champ_/, "").replace(/-champ$/, ""); };
    var champs = wrappers.map(function (el) {
      var raw = el.getAttribute("data-condition");
      var condition = null;
      if (raw) { try { condition = JSON.parse(raw); } catch (e) { condition = null; } }
      return { stable_id: parseInt(idOf(el), 10), condition: condition };
    });
    var valuesOf = function () {
      var values = {};
      wrappers.forEach(function (el) {
        var id = idOf(el);
        var control = dossierForm.elements["champ_" + id];
        if (!control) { return; }
        var boxes = dossierForm.querySelectorAll('input[type="checkbox"][name="champ_' + id + '"]');
        if (boxes.length && (boxes.length > 1 || boxes[0].value !== "on")) {
          // Choix multiple: the list of the checked options.
          var chosen = [];
          Array.prototype.forEach.call(boxes, function (b) { if (b.checked) { chosen.push(b.value); } });
          if (chosen.length) { values[id] = chosen; }
          return;
        }
        if (control.type === "checkbox") {
          if (control.checked) { values[id] = true; }
          return;
        }
        // Radios (oui/non, civilité) give the checked one's value; "true"/"false" compare
        // equal to a boolean.
        var v = (control.value || "").trim();
        if (v === "") { return; }
        if (control.type === "number" && !isNaN(Number(v))) { values[id] = Number(v); return; }
        values[id] = v;
      });
      return values;
    };
    fetch("/static/logic.wasm", { credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.arrayBuffer() : Promise.reject(res.status); })
      .then(function (bytes) { return WebAssembly.instantiate(bytes, {}); })
      .then(function (result) {
        var ex = result.instance.exports;
        var update = function () {
          var input = new TextEncoder().encode(JSON.stringify({ champs: champs, values: valuesOf() }));
          var ptr = ex.alloc(input.length);
          new Uint8Array(ex.memory.buffer, ptr, input.length).set(input);
          var out = ex.visible(ptr, input.length);
          if (!out) { return; }
          var n = new DataView(ex.memory.buffer).getUint32(out, true);
          var visible = JSON.parse(new TextDecoder().decode(new Uint8Array(ex.memory.buffer, out + 4, n)));
          ex.dealloc(out, 4 + n);
          wrappers.forEach(function (el) {
            var shown = visible[idOf(el)] !== false;
            if (el.hidden === shown) { el.hidden = !shown; }
          });
        };
        dossierForm.addEventListener("input", update);
        dossierForm.addEventListener("change", update);
        update();
        dossierForm.setAttribute("data-logic", "wasm");
      })
      .catch(function () { /* server-side visibility only */ });
  }
})();
