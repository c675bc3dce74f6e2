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
    // The value of the control(s) named `name`, as the evaluator reads it; undefined when
    // empty.
    var valueOf = function (name) {
      var control = dossierForm.elements[name];
      if (!control) { return undefined; }
      var boxes = dossierForm.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
      if (boxes.length && (boxes.length > 1 || boxes[0].value !== "on")) {
        // Choix multiple: the list of the checked options.
        var chosen = [];
        Array.prototype.forEach.call(boxes, function (b) { if (b.checked) { chosen.push(b.value); } });
        return chosen.length ? chosen : undefined;
      }
      if (control.type === "checkbox") { return control.checked ? true : undefined; }
      // Radios (oui/non, civilité) give the checked one's value; "true"/"false" compare
      // equal to a boolean.
      var v = (control.value || "").trim();
      if (v === "") { return undefined; }
      if (control.type === "number" && !isNaN(Number(v))) { return Number(v); }
      return v;
    };
    var valuesOf = function () {
      var values = {};
      wrappers.forEach(function (el) {
        var id = idOf(el);
        var v = valueOf("champ_" + id);
        if (v !== undefined) { values[id] = v; }
      });
      return values;
    };
    // Children of blocs répétables: evaluated row by row, after the top-level champs placed
    // before their block, reading their siblings of the same row.
    var rowSets = Array.prototype.slice.call(dossierForm.querySelectorAll(".dm-row")).map(function (row) {
      var kids = Array.prototype.slice.call(row.querySelectorAll(".dm-row-field[data-stable-id]"));
      if (!kids.some(function (k) { return k.hasAttribute("data-condition"); })) { return null; }
      var parse = function (raw) { try { return raw ? JSON.parse(raw) : null; } catch (e) { return null; } };
      return {
        row: row.id.replace(/^row-/, ""),
        before: champs.slice(0, wrappers.indexOf(row.closest(".dm-champ-field"))),
        kids: kids,
        champs: kids.map(function (k) {
          return { stable_id: parseInt(k.getAttribute("data-stable-id"), 10), condition: parse(k.getAttribute("data-condition")) };
        })
      };
    }).filter(function (r) { return r !== null; });
    fetch("/static/logic.wasm", { credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.arrayBuffer() : Promise.reject(res.status); })
      .then(function (bytes) { return WebAssembly.instantiate(bytes, {}); })
      .then(function (result) {
        var ex = result.instance.exports;
        var evaluate = function (list, values) {
          var input = new TextEncoder().encode(JSON.stringify({ champs: list, values: values }));
          var ptr = ex.alloc(input.length);
          new Uint8Array(ex.memory.buffer, ptr, input.length).set(input);
          var out = ex.visible(ptr, input.length);
          if (!out) { return null; }
          var n = new DataView(ex.memory.buffer).getUint32(out, true);
          var visible = JSON.parse(new TextDecoder().decode(new Uint8Array(ex.memory.buffer, out + 4, n)));
          ex.dealloc(out, 4 + n);
          return visible;
        };
        var update = function () {
          var values = valuesOf();
          var visible = evaluate(champs, values);
          if (!visible) { return; }
          wrappers.forEach(function (el) {
            var shown = visible[idOf(el)] !== false;
            if (el.hidden === shown) { el.hidden = !shown; }
          });
          rowSets.forEach(function (set) {
            var rowValues = {};
            Object.keys(values).forEach(function (k) { rowValues[k] = values[k]; });
            set.champs.forEach(function (c) {
              var v = valueOf("champ_" + c.stable_id + "_" + set.row);
              if (v !== undefined) { rowValues[c.stable_id] = v; } else { delete rowValues[c.stable_id]; }
            });
            var rowVisible = evaluate(set.before.concat(set.champs), rowValues);
            if (!rowVisible) { return; }
            set.kids.forEach(function (el, i) {
              var shown = rowVisible[set.champs[i].stable_id] !== false;
              if (el.hidden === shown) { el.hidden = !shown; }
            });
          });
        };
        dossierForm.addEventListener("input", update);
        dossierForm.addEventListener("change", update);
        update();
        dossierForm.setAttribute("data-logic", "wasm");
      })
      .catch(function () { /* server-side visibility only */ });
  }

  // Brouillon autosave: a form with data-autosave-url is sent in the background
  // (debounced) while the usager types, through the same save path as its « Enregistrer le
  // brouillon » button (which keeps working without JavaScript). Nothing typed is touched:
  // the fields that could not be saved get their message; the others are saved.
  var autosaveForm = document.querySelector("form[data-autosave-url]");
  if (autosaveForm && window.fetch && window.FormData && window.URLSearchParams) {
    var autosaveUrl = autosaveForm.getAttribute("data-autosave-url");
    var autosaveStatus = document.getElementById("autosave-status");
    var autosaveTimer = null;
    var autosaveBusy = false;
    var autosaveAgain = false;
    var autosaveStopped = false;
    var say = function (text) { if (autosaveStatus) { autosaveStatus.textContent = text; } };
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    var clearAutosaveErrors = function () {
      Array.prototype.forEach.call(autosaveForm.querySelectorAll(".dm-autosave-error"), function (p) {
        var control = document.getElementById(p.getAttribute("data-field"));
        if (control) {
          control.removeAttribute("aria-invalid");
          control.removeAttribute("aria-describedby");
        }
        p.parentNode.removeChild(p);
      });
    };
    var showAutosaveErrors = function (errors) {
      errors.forEach(function (e) {
        var control = document.getElementById(e.field);
        if (!control) { return; }
        var id = e.field + "-error";
        var existing = document.getElementById(id);
        if (existing) { existing.textContent = e.message; return; }
        var p = document.createElement("p");
        p.className = "fr-error-text dm-autosave-error";
        p.id = id;
        p.setAttribute("data-field", e.field);
        p.textContent = e.message;
        var group = control.closest(".fr-input-group, .fr-select-group, .fr-fieldset, .fr-checkbox-group") || control.parentNode;
        group.appendChild(p);
        control.setAttribute("aria-invalid", "true");
        control.setAttribute("aria-describedby", id);
      });
    };
    var autosave = function () {
      autosaveTimer = null;
      if (autosaveStopped) { return; }
      if (autosaveBusy) { autosaveAgain = true; return; }
      autosaveBusy = true;
      var body = new URLSearchParams();
      new FormData(autosaveForm).forEach(function (value, key) {
        if (key !== "action" && typeof value === "string") { body.append(key, value); }
      });
      fetch(autosaveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        body: body
      })
        .then(function (res) {
          return res.json().then(function (data) { return { ok: res.ok, data: data || {} }; });
        })
        .then(function (answer) {
          clearAutosaveErrors();
          showAutosaveErrors(answer.data.errors || []);
          if (answer.ok) {
            var now = new Date();
            var text = "Brouillon enregistré à " + two(now.getHours()) + ":" + two(now.getMinutes());
            if ((answer.data.errors || []).length) { text += ", sauf les champs signalés"; }
            say(text + ".");
          } else if (answer.data.error) {
            // The dossier left the brouillon state (deposited in another tab…).
            autosaveStopped = true;
            say(answer.data.error);
          } else {
            say("Le brouillon n’a pas été enregistré : corrigez les champs signalés.");
          }
        })
        .catch(function () {
          say("Enregistrement automatique momentanément impossible : vos saisies restent sur cette page, utilisez « Enregistrer le brouillon ».");
        })
        .then(function () {
          autosaveBusy = false;
          if (autosaveAgain) { autosaveAgain = false; schedule(); }
        });
    };
    var schedule = function () {
      if (autosaveTimer) { clearTimeout(autosaveTimer); }
      autosaveTimer = setTimeout(autosave, 800);
    };
    autosaveForm.addEventListener("input", schedule);
    autosaveForm.addEventListener("change", schedule);
    autosaveForm.addEventListener("submit", function () {
      autosaveStopped = true;
      if (autosaveTimer) { clearTimeout(autosaveTimer); }
    });
  }

  // Builder autosave: a champ's edit form (data-autosave-page) is posted in the background
  // (debounced) to its own action, exactly as its « Enregistrer » button would: a redirect
  // means saved; a page in error gives its messages, and nothing typed is touched.
  var pageForm = document.querySelector("form[data-autosave-page]");
  if (pageForm && window.fetch && window.FormData && window.URLSearchParams && window.DOMParser) {
    var pageStatus = document.getElementById(pageForm.getAttribute("data-autosave-page"));
    var pageTimer = null;
    var pageBusy = false;
    var pageAgain = false;
    var pageSubmitted = false;
    var pageSay = function (text) { if (pageStatus) { pageStatus.textContent = text; } };
    var pageSave = function () {
      pageTimer = null;
      if (pageSubmitted) { return; }
      if (pageBusy) { pageAgain = true; return; }
      pageBusy = true;
      var body = new URLSearchParams();
      new FormData(pageForm).forEach(function (value, key) {
        if (typeof value === "string") { body.append(key, value); }
      });
      fetch(pageForm.action, { method: "POST", credentials: "same-origin", redirect: "manual", body: body })
        .then(function (res) {
          if (res.type === "opaqueredirect" || (res.status >= 300 && res.status < 400)) {
            var now = new Date();
            pageSay("Modifications enregistrées à " + (now.getHours() < 10 ? "0" : "") + now.getHours() + ":" + (now.getMinutes() < 10 ? "0" : "") + now.getMinutes() + ".");
            return null;
          }
          return res.text().then(function (html) {
            var doc = new DOMParser().parseFromString(html, "text/html");
            var messages = Array.prototype.map.call(doc.querySelectorAll("#error-summary li"), function (li) { return li.textContent.trim(); });
            pageSay("Modifications non enregistrées" + (messages.length ? " : " + messages.join(" ") : "."));
          });
        })
        .catch(function () { pageSay("Enregistrement automatique momentanément impossible : utilisez « Enregistrer »."); })
        .then(function () {
          pageBusy = false;
          if (pageAgain) { pageAgain = false; pageSchedule(); }
        });
    };
    var pageSchedule = function () {
      if (pageTimer) { clearTimeout(pageTimer); }
      pageTimer = setTimeout(pageSave, 1000);
    };
    pageForm.addEventListener("input", pageSchedule);
    pageForm.addEventListener("change", pageSchedule);
    pageForm.addEventListener("submit", function () {
      pageSubmitted = true;
      if (pageTimer) { clearTimeout(pageTimer); }
    });
  }

  // Address suggestions: an input with data-autocomplete becomes a combobox (ARIA 1.2)
  // listing the answers of that JSON endpoint ([{label, …}]). Choosing one fills the input;
  // the text typed is what is saved either way, so an unavailable service (503) or no
  // JavaScript only means no suggestions.
  Array.prototype.forEach.call(document.querySelectorAll("input[data-autocomplete]"), function (input) {
    if (!window.fetch || !window.JSON) { return; }
    var url = input.getAttribute("data-autocomplete");
    // The démarche of the form: its enabled address connector answers.
    var owner = input.closest ? input.closest("[data-procedure]") : null;
    var scope = owner ? "&procedure=" + encodeURIComponent(owner.getAttribute("data-procedure")) : "";
    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "dm-suggestions";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Adresses suggérées");
    list.hidden = true;
    var status = document.createElement("p");
    status.className = "fr-hint-text dm-suggestions-status";
    status.setAttribute("aria-live", "polite");
    input.parentNode.style.position = "relative";
    input.parentNode.insertBefore(list, input.nextSibling);
    input.parentNode.insertBefore(status, list.nextSibling);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);
    input.setAttribute("autocomplete", "off");
    var items = [];
    var active = -1;
    var timer = null;
    var seq = 0;
    var close = function () {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    };
    var highlight = function (i) {
      items.forEach(function (li, j) { li.setAttribute("aria-selected", j === i ? "true" : "false"); });
      active = i;
      if (i >= 0) { input.setAttribute("aria-activedescendant", items[i].id); }
      else { input.removeAttribute("aria-activedescendant"); }
    };
    var choose = function (i) {
      if (i < 0 || i >= items.length) { return; }
      input.value = items[i].getAttribute("data-label");
      close();
      status.textContent = "";
      input.dispatchEvent(new Event("change", { bubbles: true }));
    };
    var show = function (suggestions) {
      list.innerHTML = "";
      items = suggestions.map(function (s, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-label", s.label);
        li.textContent = s.label;
        li.addEventListener("mousedown", function (e) { e.preventDefault(); choose(i); });
        list.appendChild(li);
        return li;
      });
      active = -1;
      if (items.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        status.textContent = items.length + (items.length > 1 ? " adresses suggérées" : " adresse suggérée");
      } else {
        close();
        status.textContent = "";
      }
    };
    var search = function () {
      var q = input.value.trim();
      if (q.length < 3) { close(); status.textContent = ""; return; }
      var mine = ++seq;
      fetch(url + "?q=" + encodeURIComponent(q) + scope, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (res) {
          if (res.status === 503) {
            return res.json().then(function (body) { return Promise.reject(body && body.error); });
          }
          return res.ok ? res.json() : Promise.reject(null);
        })
        .then(function (suggestions) { if (mine === seq && suggestions && suggestions.map) { show(suggestions); } })
        .catch(function (message) {
          if (mine !== seq) { return; }
          close();
          status.textContent = typeof message === "string" ? message : "";
        });
    };
    input.addEventListener("input", function () {
      if (timer) { clearTimeout(timer); }
      timer = setTimeout(search, 250);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden || !items.length) { return; }
      if (e.key === "ArrowDown") { e.preventDefault(); highlight((active + 1) % items.length); }
      else if (e.key === "ArrowUp") { e.preventDefault(); highlight(active <= 0 ? items.length - 1 : active - 1); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); choose(active); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
  });
})();
