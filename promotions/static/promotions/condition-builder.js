// The promotion editor's condition builder: the rule tree of RULES.md (all / any / not groups, line scopes,
// fact tests) edited with lists and pickers. It reads and writes the JSON in the condition's text box, which
// stays what is saved; "Advanced: JSON" shows that box instead. Its choices come from the page
// (promotions/builder.py). No library, nothing from another host.
"use strict";
(function () {
  const configElement = document.getElementById("condition-builder-config");
  const textarea = document.querySelector("textarea[name=condition]");
  if (!configElement || !textarea) return;
  const config = JSON.parse(configElement.textContent);
  const facts = Object.fromEntries(config.facts.map((f) => [f.fact, f]));
  const disabled = textarea.disabled;
  const row = textarea.closest(".form-row") || textarea.parentElement;

  const OPERATOR_LABELS = {
    eq: "is", ne: "is not", gt: "is above", gte: "is at least", lt: "is below", lte: "is at most",
    between: "is between", in: "is one of", notIn: "is none of", contains: "contains",
    containsAny: "contains any of", startsWith: "starts with", exists: "is present",
  };
  const LIST_OPERATORS = new Set(["in", "notIn", "containsAny"]);
  const SCOPES = { any: "At least one line where", every: "Every line where", none: "No line where" };
  const GROUPS = { all: "All of these hold", any: "At least one of these holds" };

  let state = null;
  let advanced = false;

  const root = document.createElement("div");
  root.id = "condition-builder";
  root.className = "cb";
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "cb-advanced";
  row.parentElement.insertBefore(root, row);
  row.parentElement.insertBefore(toggle, row);

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = value;
      else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    if (disabled && ["SELECT", "INPUT", "BUTTON"].includes(node.tagName)) node.disabled = true;
    return node;
  }

  function put(parent, ...children) {
    for (const child of children) if (child) parent.append(child);
  }

  function select(options, value, onchange, attributes) {
    const box = el("select", { onchange: (e) => onchange(e.target.value), ...(attributes || {}) });
    for (const [key, label] of options) {
      if (Array.isArray(label)) {  // an option group: [title, [[key, label], ...]]
        const group = el("optgroup", { label: key });
        for (const [k, l] of label) put(group, el("option", { value: k, text: l, selected: String(k) === String(value) }));
        put(box, group);
      } else {
        put(box, el("option", { value: key, text: label, selected: String(key) === String(value) }));
      }
    }
    return box;
  }

  // The JSON in the text box, and back ---------------------------------------------------------------------
  function read() {
    const text = textarea.value.trim();
    if (!text) return { ok: true, value: null };
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (error) {
      return { ok: false };
    }
  }

  function write() {
    textarea.value = state === null ? "" : JSON.stringify(state, null, 2);
  }

  function change(mutate) {
    mutate();
    write();
    render();
  }

  // New nodes ---------------------------------------------------------------------------------------------
  function factType(name) {
    if (facts[name]) return facts[name].type;
    if (name.startsWith("tx.properties.") || name.startsWith("member.properties.") || name.startsWith("line.attributes.")) return "any";
    return "string";
  }

  function defaultValue(fact, op) {
    if (op === "exists") return undefined;
    const info = facts[fact] || {};
    if (op === "between") return ["", ""];
    if (LIST_OPERATORS.has(op)) return [];
    if (info.type === "bool") return true;
    const choices = config.choices[info.picker];
    if (choices && choices.length) return String(choices[0][0]);
    return "";
  }

  function newTest(inLine) {
    const fact = inLine ? "line.productKey" : "tx.totalAmount";
    const op = config.operators[factType(fact)][0];
    return { fact, op, value: defaultValue(fact, op) };
  }

  // Errors the server found, by the path of the node they are about ------------------------------------------
  function errorsAt(path, leaf) {
    return config.errors.filter((e) => {
      if (e.field === path) return true;
      if (!e.field.startsWith(path + ".")) return false;
      const rest = e.field.slice(path.length + 1);
      return leaf || !/[\[.]/.test(rest.replace(/^(all|any)$/, ""));
    });
  }

  function errorList(errors) {
    if (!errors.length) return null;
    return el("ul", { class: "errorlist" }, ...errors.map((e) => el("li", { text: e.message })));
  }

  // Rendering -----------------------------------------------------------------------------------------------
  function tools(node, path, replace, remove) {
    const bar = el("span", { class: "cb-tools" });
    if ("not" in node) {
      put(bar, el("button", { type: "button", class: "cb-not", text: "Remove NOT", onclick: () => change(() => replace(node.not)) }));
    } else {
      put(bar, el("button", { type: "button", class: "cb-not", text: "NOT", title: "Holds when this does not",
        onclick: () => change(() => replace({ not: node })) }));
    }
    if (remove) put(bar, el("button", { type: "button", class: "cb-remove", text: "Remove", onclick: () => change(remove) }));
    return bar;
  }

  function adders(onadd, inLine) {
    const bar = el("div", { class: "cb-add" });
    put(bar, el("button", { type: "button", text: "+ Test", onclick: () => change(() => onadd(newTest(inLine))) }));
    put(bar, el("button", { type: "button", text: "+ Group", onclick: () => change(() => onadd({ all: [newTest(inLine)] })) }));
    if (!inLine) {
      put(bar, el("button", { type: "button", text: "+ Line test", title: "A test of the purchase's lines (products)",
        onclick: () => change(() => onadd({ lines: "any", where: newTest(true) })) }));
    }
    return bar;
  }

  function renderNode(node, path, inLine, replace, remove) {
    if (node && typeof node === "object" && !Array.isArray(node)) {
      if ("all" in node || "any" in node) return renderGroup(node, path, inLine, replace, remove);
      if ("not" in node) return renderNot(node, path, inLine, replace, remove);
      if ("lines" in node) return renderScope(node, path, replace, remove);
      if ("fact" in node) return renderTest(node, path, inLine, replace, remove);
    }
    return el("div", { class: "cb-node cb-unknown", "data-path": path },
      el("span", { text: "This part cannot be shown here: change it under Advanced: JSON." }),
      remove ? el("button", { type: "button", text: "Remove", onclick: () => change(remove) }) : null);
  }

  function renderGroup(node, path, inLine, replace, remove) {
    const kind = "all" in node ? "all" : "any";
    const children = Array.isArray(node[kind]) ? node[kind] : [];
    const box = el("div", { class: "cb-node cb-group", "data-path": path });
    const head = el("div", { class: "cb-head" },
      select(Object.entries(GROUPS), kind, (value) => change(() => replace({ [value]: children })), { "aria-label": "Group" }),
      tools(node, path, replace, remove));
    put(box, head, errorList(errorsAt(path, false)));
    const list = el("div", { class: "cb-children" });
    children.forEach((child, index) => {
      const childPath = `${path}.${kind}[${index}]`;
      put(list, renderNode(child, childPath, inLine,
        (value) => { children[index] = value; },
        () => {
          children.splice(index, 1);
          if (!children.length) remove ? remove() : replace(null);
          else if (children.length === 1) replace(children[0]);  // a group of one is that one test
        }));
    });
    put(box, list, adders((value) => children.push(value), inLine));
    return box;
  }

  function renderNot(node, path, inLine, replace, remove) {
    const box = el("div", { class: "cb-node cb-negated", "data-path": path });
    put(box, el("div", { class: "cb-head" }, el("strong", { text: "NOT: this must not hold" }), tools(node, path, replace, remove)));
    put(box, renderNode(node.not, `${path}.not`, inLine, (value) => { node.not = value; }, remove));
    return box;
  }

  function renderScope(node, path, replace, remove) {
    const box = el("div", { class: "cb-node cb-scope", "data-path": path });
    put(box, el("div", { class: "cb-head" },
      select(Object.entries(SCOPES), node.lines, (value) => change(() => { node.lines = value; }), { "aria-label": "Lines" }),
      tools(node, path, replace, remove)), errorList(errorsAt(path, false)));
    put(box, renderNode(node.where, `${path}.where`, true, (value) => { node.where = value; }, remove));
    if (node.where && typeof node.where === "object" && !("all" in node.where || "any" in node.where)) {
      // A second test of the same line: the line's tests become a group (all of them must hold).
      put(box, adders((value) => { node.where = { all: [node.where, value] }; }, true));
    }
    return box;
  }

  function factOptions(inLine, current) {
    const groups = config.subjects
      .filter((subject) => inLine || subject !== "Line")
      .map((subject) => [subject, config.facts.filter((f) => f.subject === subject && (inLine || !f.line)).map((f) => [f.fact, f.label])]);
    const prefixes = config.prefixes.filter((p) => inLine || !p.line).map((p) => [p.prefix, p.label]);
    groups.push(["Named by you", prefixes]);
    if (current && !facts[current] && !config.prefixes.some((p) => current.startsWith(p.prefix))) {
      groups.push(["As saved", [[current, current]]]);
    }
    return groups;
  }

  function valueInput(node, info, path) {
    const op = node.op;
    if (op === "exists") return null;
    const choices = config.choices[info.picker];
    const set = (value) => change(() => { node.value = value; });
    if (op === "between") {
      const pair = Array.isArray(node.value) ? node.value : ["", ""];
      return el("span", { class: "cb-between" },
        el("input", { type: "number", step: "any", value: pair[0] ?? "", "aria-label": "From",
          onchange: (e) => set([e.target.value, pair[1] ?? ""]) }),
        el("span", { text: " and " }),
        el("input", { type: "number", step: "any", value: pair[1] ?? "", "aria-label": "To",
          onchange: (e) => set([pair[0] ?? "", e.target.value]) }),
        unit(info));
    }
    if (LIST_OPERATORS.has(op)) {
      const values = (Array.isArray(node.value) ? node.value : []).map(String);
      if (choices) {
        const box = el("select", { multiple: true, size: Math.min(Math.max(choices.length, 2), 6), "aria-label": "Values",
          onchange: (e) => set(Array.from(e.target.selectedOptions).map((o) => o.value)) });
        for (const [key, label] of choices) put(box, el("option", { value: key, text: label, selected: values.includes(String(key)) }));
        return box;
      }
      return el("input", { type: "text", value: values.join(", "), placeholder: "values, separated by commas", "aria-label": "Values",
        list: info.picker === "product" ? "cb-products" : null, oninput: info.picker === "product" ? searchProducts : null,
        onchange: (e) => set(e.target.value.split(",").map((v) => v.trim()).filter(Boolean)) });
    }
    if (info.type === "bool") {
      return select([["true", "yes"], ["false", "no"]], String(node.value !== false), (value) => set(value === "true"), { "aria-label": "Value" });
    }
    if (choices) return select(choices, node.value, set, { "aria-label": "Value" });
    if (info.type === "number") {
      return el("span", {}, el("input", { type: "number", step: "any", value: node.value ?? "", "aria-label": "Value",
        onchange: (e) => set(e.target.value) }), unit(info));
    }
    return el("input", { type: "text", value: node.value ?? "", "aria-label": "Value",
      list: info.picker === "product" ? "cb-products" : null, oninput: info.picker === "product" ? searchProducts : null,
      placeholder: info.picker === "product" ? "type to search the catalog" : "", onchange: (e) => set(e.target.value) });
  }

  function unit(info) {
    const text = { money: config.currency, days: "days" }[info.picker];
    return text ? el("span", { class: "cb-unit", text: ` ${text}` }) : null;
  }

  function renderTest(node, path, inLine, replace, remove) {
    const prefix = config.prefixes.find((p) => node.fact.startsWith(p.prefix));
    const info = facts[node.fact] || { type: factType(node.fact), picker: "", description: "" };
    const box = el("div", { class: "cb-node cb-test", "data-path": path });
    const factSelect = select(factOptions(inLine, node.fact), prefix ? prefix.prefix : node.fact, (value) => change(() => {
      const fact = config.prefixes.some((p) => p.prefix === value) ? value + "name" : value;
      const op = config.operators[factType(fact)][0];
      replace({ fact, op, value: defaultValue(fact, op) });
    }), { "aria-label": "Fact" });
    const parts = [factSelect];
    if (prefix) {
      parts.push(el("input", { type: "text", class: "cb-name", value: node.fact.slice(prefix.prefix.length), "aria-label": "Name",
        onchange: (e) => change(() => { node.fact = prefix.prefix + e.target.value.trim(); }) }));
    }
    const ops = config.operators[info.type] || config.operators.any;
    parts.push(select(ops.map((op) => [op, OPERATOR_LABELS[op] || op]), node.op, (op) => change(() => {
      node.op = op;
      if (op === "exists") delete node.value;
      else node.value = defaultValue(node.fact, op);
    }), { "aria-label": "Operator" }));
    parts.push(valueInput(node, info, path));
    put(box, el("div", { class: "cb-head" }, el("span", { class: "cb-test-parts" }, ...parts), tools(node, path, replace, remove)));
    if (info.description) put(box, el("div", { class: "help cb-description", text: info.description }));
    put(box, errorList(errorsAt(path, true)));
    return box;
  }

  // The catalog's products, searched as one types ------------------------------------------------------------
  const products = el("datalist", { id: "cb-products" });
  document.body.append(products);
  let searching = null;
  function searchProducts(event) {
    const text = event.target.value.split(",").pop().trim();
    if (text.length < 2) return;
    clearTimeout(searching);
    searching = setTimeout(async () => {
      const response = await fetch(`${config.productSearch}?q=${encodeURIComponent(text)}`, { credentials: "same-origin" });
      if (!response.ok) return;
      const found = (await response.json()).products;
      products.replaceChildren(...found.map((p) => el("option", { value: p.key, label: `${p.name} (${p.channels})` })));
    }, 150);
  }

  function render() {
    root.replaceChildren();
    toggle.textContent = advanced ? "Back to the builder" : "Advanced: JSON";
    row.hidden = !advanced;
    root.hidden = advanced;
    if (advanced) return;
    put(root, errorList(errorsAt("condition", false).filter((e) => !e.field.includes("["))));
    if (state === null) {
      put(root, el("p", { class: "cb-empty", text: "No condition: every purchase in the promotion's scope earns by it." }));
      put(root, adders((value) => { state = value; }, false));
      return;
    }
    put(root, renderNode(state, "condition", false, (value) => { state = value; }, () => { state = null; }));
    if (!("all" in state || "any" in state)) {
      put(root, adders((value) => { state = { all: [state, value] }; }, false));
    }
  }

  toggle.addEventListener("click", () => {
    if (advanced) {
      const parsed = read();
      if (!parsed.ok) {
        toggle.textContent = "Back to the builder (fix the JSON first: it cannot be read)";
        return;
      }
      state = parsed.value;
    }
    advanced = !advanced;
    render();
  });

  const parsed = read();
  if (parsed.ok) {
    state = parsed.value;
  } else {
    advanced = true;  // text that is no JSON stays where it can be mended
  }
  render();
  window.conditionBuilder = {
    load(value) { state = value; write(); advanced = false; render(); },
    dump() { return state; },
  };
})();
