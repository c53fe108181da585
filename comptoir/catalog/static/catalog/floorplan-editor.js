/* The floor plan editor (Gestion → Plans → Dessiner les espaces).
 *
 * Pick a space in the list, click on the plan to add its points, drag a point to move it, double-click
 * or "Terminer" to close the polygon, "Effacer" to remove the space's shape, "Enregistrer" to post every
 * shape as JSON ({"shapes": {space_id: [[x, y], ...] | null}}) to the server, which validates them all
 * and answers its errors per space ("shapes.<id>"). Pointer events: mouse, pen and touch alike.
 */
(function () {
  "use strict";

  const root = document.getElementById("floorplan-editor");
  const dataNode = document.getElementById("floorplan-editor-data");
  if (!root || !dataNode) return;

  const data = JSON.parse(dataNode.textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const msg = (name) => root.dataset["msg" + name.charAt(0).toUpperCase() + name.slice(1)] || "";
  const shapes = {}; // space id → [[x, y], ...] | null
  const open = {}; // space id → true while its polygon is being drawn
  let current = null; // the selected space id
  let drag = null; // {index, pointerId} while a point is dragged
  let dragged = false;
  const unit = Math.max(Math.min(data.width, data.height) / 100, 2);

  data.spaces.forEach((space) => (shapes[space.id] = space.shape ? space.shape.map((p) => p.slice()) : null));

  // ---- the drawing surface ------------------------------------------------------------------------
  function el(name, attributes, parent) {
    const node = document.createElementNS(SVG, name);
    Object.entries(attributes || {}).forEach(([key, value]) => node.setAttribute(key, value));
    if (parent) parent.appendChild(node);
    return node;
  }

  const svg = el("svg", { viewBox: `0 0 ${data.width} ${data.height}`, role: "img" });
  el("rect", { x: 0, y: 0, width: data.width, height: data.height, fill: "#fff" }, svg);
  if (data.background) {
    el("image", { href: data.background, x: 0, y: 0, width: data.width, height: data.height,
                  preserveAspectRatio: "xMidYMid meet" }, svg);
  }
  const layer = el("g", {}, svg);
  const handles = el("g", {}, svg);
  root.querySelector("[data-role=canvas]").appendChild(svg);

  function toPlan(event) {
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(svg.getScreenCTM().inverse());
    const clamp = (value, max) => Math.round(Math.min(Math.max(value, 0), max) * 10) / 10;
    return [clamp(point.x, data.width), clamp(point.y, data.height)];
  }

  function centroid(points) {
    const n = points.length;
    return [points.reduce((s, p) => s + p[0], 0) / n, points.reduce((s, p) => s + p[1], 0) / n];
  }

  function draw() {
    layer.replaceChildren();
    handles.replaceChildren();
    data.spaces.forEach((space) => {
      const points = shapes[space.id];
      if (!points || !points.length) return;
      const isCurrent = space.id === current;
      const tag = open[space.id] ? "polyline" : "polygon";
      const cls = "shape" + (isCurrent ? " current" : "") + (open[space.id] ? " open" : "");
      const shape = el(tag, { points: points.map((p) => p.join(",")).join(" "), class: cls }, layer);
      shape.dataset.space = space.id;
      const [x, y] = centroid(points);
      const label = el("text", { x, y, "text-anchor": "middle", class: "label", "font-size": unit * 2.5 }, layer);
      label.textContent = space.name;
    });
    if (current !== null && shapes[current]) {
      shapes[current].forEach((point, index) => {
        const handle = el("circle", { cx: point[0], cy: point[1], r: unit * 1.2, class: "handle" }, handles);
        handle.dataset.index = index;
      });
    }
  }

  // ---- the space list -----------------------------------------------------------------------------
  const list = root.querySelector("[data-role=spaces]");
  const items = {};
  data.spaces.forEach((space) => {
    const item = document.createElement("li");
    item.className = "list-group-item list-group-item-action p-0";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "btn btn-link text-start text-decoration-none w-100 px-3 py-2";
    button.setAttribute("translate", "no");
    button.addEventListener("click", () => select(space.id));
    const name = document.createElement("span");
    name.textContent = space.name;
    const badge = document.createElement("span");
    badge.className = "badge rounded-pill ms-2";
    const error = document.createElement("div");
    error.className = "small text-danger";
    button.append(name, badge);
    item.append(button, error);
    list.appendChild(item);
    items[space.id] = { item, button, badge, error };
  });

  function refreshList() {
    data.spaces.forEach((space) => {
      const { item, button, badge } = items[space.id];
      const drawn = shapes[space.id] && shapes[space.id].length >= 3;
      item.classList.toggle("active", space.id === current);
      button.classList.toggle("text-white", space.id === current);
      button.setAttribute("aria-pressed", space.id === current ? "true" : "false");
      badge.className = "badge rounded-pill ms-2 " + (drawn ? "text-bg-success" : "text-bg-light border");
      badge.textContent = drawn ? "✓" : "—";
    });
  }

  function render() {
    draw();
    refreshList();
  }

  function select(id) {
    if (current !== null && open[current]) finish();
    current = id;
    render();
  }

  // ---- status line --------------------------------------------------------------------------------
  const status = root.querySelector("[data-role=status]");
  const TEXT_CLASS = { info: "text-body-secondary", warning: "text-warning-emphasis", danger: "text-danger",
                       success: "text-success" };
  function say(text, kind) {
    // A line of fixed height: the plan does not move under the pointer when a message appears.
    status.textContent = text;
    status.dataset.kind = kind || "info";
    status.className = "floorplan-status fw-semibold " + TEXT_CLASS[kind || "info"];
  }

  // ---- editing ------------------------------------------------------------------------------------
  let dirty = false;
  window.addEventListener("beforeunload", (event) => {
    if (dirty) event.preventDefault(); // the browser asks before leaving unsaved shapes
  });

  function changed() {
    dirty = true;
    say(msg("unsaved"), "warning");
    render();
  }

  function finish() {
    if (current === null || !shapes[current]) return;
    if (shapes[current].length < 3) {
      say(msg("points"), "warning");
      return;
    }
    open[current] = false;
    render();
  }

  svg.addEventListener("click", (event) => {
    if (dragged) { dragged = false; return; }
    const target = event.target.dataset && event.target.dataset.space;
    if (target && Number(target) !== current && !(current !== null && open[current])) {
      select(Number(target));
      return;
    }
    if (current === null) { say(msg("pick"), "warning"); return; }
    const point = toPlan(event);
    const points = shapes[current] || (shapes[current] = []);
    const last = points[points.length - 1];
    if (last && Math.hypot(last[0] - point[0], last[1] - point[1]) < unit / 2) return; // a double-click
    if (points.length >= data.maxPoints) return;
    points.push(point);
    open[current] = true;
    changed();
  });

  svg.addEventListener("dblclick", (event) => { event.preventDefault(); finish(); });

  handles.addEventListener("pointerdown", (event) => {
    if (!event.target.dataset.index) return;
    event.preventDefault();
    drag = { index: Number(event.target.dataset.index), pointerId: event.pointerId };
    svg.setPointerCapture(event.pointerId);
  });
  svg.addEventListener("pointermove", (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    shapes[current][drag.index] = toPlan(event);
    dragged = true;
    draw();
  });
  const stopDrag = (event) => {
    if (!drag || event.pointerId !== drag.pointerId) return;
    drag = null;
    if (dragged) changed();
  };
  svg.addEventListener("pointerup", stopDrag);
  svg.addEventListener("pointercancel", stopDrag);

  const actions = {
    undo() {
      if (current !== null && shapes[current] && shapes[current].length) {
        shapes[current].pop();
        open[current] = shapes[current].length > 0;
        if (!shapes[current].length) shapes[current] = null;
        changed();
      }
    },
    finish,
    clear() {
      if (current === null) { say(msg("pick"), "warning"); return; }
      shapes[current] = null;
      open[current] = false;
      changed();
    },
    save,
  };
  root.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => actions[button.dataset.action]());
  });
  document.addEventListener("keydown", (event) => {
    // Enter / Escape close the polygon being drawn, unless a control has the focus (Enter presses it).
    if (event.target.closest && event.target.closest("input, textarea, select, button, a")) return;
    if (event.key === "Enter" && current !== null && open[current]) { event.preventDefault(); finish(); }
    if (event.key === "Escape" && current !== null && open[current]) finish();
  });

  // ---- saving -------------------------------------------------------------------------------------
  async function save() {
    Object.values(items).forEach(({ error }) => (error.textContent = ""));
    const payload = {};
    data.spaces.forEach((space) => (payload[space.id] = shapes[space.id] && shapes[space.id].length ? shapes[space.id] : null));
    let response, body;
    try {
      response = await fetch(data.saveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf, Accept: "application/json" },
        body: JSON.stringify({ shapes: payload }),
      });
      body = await response.json();
    } catch (error) {
      say(msg("network"), "danger");
      return;
    }
    if (response.ok) {
      dirty = false;
      Object.keys(open).forEach((id) => (open[id] = false));
      say(body.message || msg("saved"), "success");
      render();
      return;
    }
    const problem = body.error || {};
    Object.entries(problem.fields || {}).forEach(([field, messages]) => {
      const id = Number(field.split(".")[1]);
      if (items[id]) items[id].error.textContent = messages.join(" ");
    });
    say(problem.message || msg("error"), "danger");
  }

  render();
})();
