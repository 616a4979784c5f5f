/* Causerie moderation: keyboard shortcuts, bulk selection and in-place actions.
   Progressive enhancement only: every action is a plain form that works without
   this file. Served from our origin so the strict Content-Security-Policy holds. */
(function () {
  "use strict";

  var form = document.getElementById("queue-form");
  var live = document.getElementById("live");
  var keys = document.getElementById("keys");
  var current = -1;
  var undoBox = document.getElementById("undo");
  var lastUndo = null;

  function announce(text) {
    if (!live) return;
    live.textContent = "";
    window.setTimeout(function () { live.textContent = text; }, 30);
  }

  function items() {
    return form ? Array.prototype.slice.call(form.querySelectorAll(".item")) : [];
  }

  function focusItem(index, quiet) {
    var list = items();
    if (!list.length) return;
    index = Math.max(0, Math.min(index, list.length - 1));
    list.forEach(function (el) { el.classList.remove("current"); });
    current = index;
    var item = list[index];
    item.classList.add("current");
    if (quiet) return;
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "nearest", behavior: "auto" });
  }

  function currentItem() {
    var list = items();
    return current >= 0 && current < list.length ? list[current] : null;
  }

  function selected() {
    return form ? Array.prototype.slice.call(form.querySelectorAll('input[name="ids"]:checked')) : [];
  }

  function updateSelection() {
    var count = selected().length;
    var label = document.getElementById("selection-count");
    var all = document.getElementById("select-all");
    items().forEach(function (item) {
      var box = item.querySelector('input[name="ids"]');
      item.classList.toggle("selected", !!(box && box.checked));
    });
    if (label) {
      label.textContent = count ? label.getAttribute("data-some").replace("{n}", count) : label.getAttribute("data-none");
    }
    if (all) {
      all.checked = count > 0 && count === items().length;
      all.indeterminate = count > 0 && count < items().length;
    }
  }

  function csrfData() {
    var data = new FormData();
    var token = form.querySelector('input[name="csrf_token"]');
    if (token) data.append("csrf_token", token.value);
    return data;
  }

  function send(url, data) {
    return fetch(url, {
      method: "POST", body: data, credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () { return {}; })
        .then(function (body) {
          // Errors come in the service's shape: {"error": {"code", "message", "fields"}}.
          if (!response.ok || !body.ok) throw new Error((body.error && body.error.message) || response.statusText);
          return body;
        });
    });
  }

  // An item leaves the list when its new status no longer belongs to this view.
  function settle(item, status) {
    var view = form.getAttribute("data-view");
    var stays = status === item.getAttribute("data-status") || (view === "all" && status !== "deleted");
    if (stays) {
      item.setAttribute("data-status", status);
      return;
    }
    var list = items();
    var index = list.indexOf(item);
    item.classList.add("leaving");
    window.setTimeout(function () {
      item.remove();
      updateSelection();
      if (!items().length) {
        // Keep the page (and its Undo) rather than reloading it away.
        var empty = document.createElement("p");
        empty.className = "empty calm";
        empty.textContent = form.getAttribute("data-empty");
        form.querySelector(".items").replaceWith(empty);
        return;
      }
      focusItem(index >= items().length ? items().length - 1 : index);
    }, 180);
  }

  // After each action, offer to put things back as they were: mistakes stay cheap.
  function offerUndo(body) {
    if (!undoBox || !body.undo || !Object.keys(body.undo).length) return;
    lastUndo = body.undo;
    undoBox.querySelector("[data-undo-message]").textContent = body.message;
    undoBox.hidden = false;
  }

  function undo() {
    if (!lastUndo) return;
    var base = form.getAttribute("action").replace(/bulk$/, "comments/");
    var pending = Object.keys(lastUndo).map(function (id) {
      return send(base + id + "/" + lastUndo[id], csrfData());
    });
    lastUndo = null;
    undoBox.hidden = true;
    Promise.all(pending).then(function () { window.location.reload(); })
      .catch(function (error) { announce(error.message); });
  }

  function actOnItem(item, action) {
    var button = item.querySelector('button[data-action="' + action + '"]');
    if (!button) { announce(item.getAttribute("data-status")); return; }
    button.disabled = true;
    send(button.formAction, csrfData()).then(function (body) {
      announce(body.message);
      offerUndo(body);
      settle(item, body.comment.status);
    }).catch(function (error) {
      button.disabled = false;
      announce(error.message);
    });
  }

  function actOnSelection(action) {
    var boxes = selected();
    var data = csrfData();
    data.append("action", action);
    boxes.forEach(function (box) { data.append("ids", box.value); });
    // form.action would be the buttons named "action": read the attribute.
    send(form.getAttribute("action"), data).then(function (body) {
      announce(body.message);
      offerUndo(body);
      boxes.forEach(function (box) {
        var item = box.closest(".item");
        box.checked = false;
        settle(item, body.statuses[box.value]);
      });
      updateSelection();
    }).catch(function (error) { announce(error.message); });
  }

  function act(action) {
    if (selected().length) { actOnSelection(action); return; }
    var item = currentItem();
    if (item) actOnItem(item, action);
  }

  if (form) {
    form.addEventListener("change", function (event) {
      if (event.target.matches("[data-select-all]")) {
        var on = event.target.checked;
        form.querySelectorAll('input[name="ids"]').forEach(function (box) { box.checked = on; });
      }
      updateSelection();
    });
    // Mouse clicks take the same fast path as the keyboard.
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !window.fetch) return;
      event.preventDefault();
      if (button.hasAttribute("data-action")) {
        var item = button.closest(".item");
        focusItem(items().indexOf(item));
        actOnItem(item, button.getAttribute("data-action"));
      } else if (button.name === "action") {
        if (!selected().length) { announce(document.getElementById("selection-count").getAttribute("data-none")); return; }
        actOnSelection(button.value);
      }
    });
    form.addEventListener("click", function (event) {
      var item = event.target.closest(".item");
      if (item && !event.target.closest("a, button, input")) focusItem(items().indexOf(item));
    });
    updateSelection();
  }

  if (undoBox) undoBox.querySelector("[data-undo]").addEventListener("click", undo);

  document.querySelectorAll("[data-show-keys]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { if (keys && keys.showModal) keys.showModal(); });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      if (event.key === "Escape") target.blur();
      return;
    }
    if (keys && keys.open) return;
    var handled = true;
    switch (event.key) {
      case "?": if (keys && keys.showModal) keys.showModal(); break;
      case "/": var search = document.getElementById("search"); if (search) search.focus(); break;
      case "j": focusItem(current + 1); break;
      case "k": focusItem(current < 0 ? 0 : current - 1); break;
      case "a": act("approve"); break;
      case "r": act("reject"); break;
      case "s": act("spam"); break;
      case "u": undo(); break;
      case "x":
        var item = currentItem();
        if (item) {
          var box = item.querySelector('input[name="ids"]');
          box.checked = !box.checked;
          updateSelection();
        }
        break;
      case "o": case "Enter":
        if (event.key === "Enter" && target.closest && target.closest("a, button")) { handled = false; break; }
        var open = currentItem() && currentItem().querySelector("[data-open]");
        if (open) window.location.href = open.href; else handled = false;
        break;
      default: handled = false;
    }
    if (handled) event.preventDefault();
  });

  if (form && items().length) focusItem(0, true);
  // Lets tests (and curious people) know the keyboard is listening.
  document.documentElement.setAttribute("data-keys", "ready");
})();
