/* Mounts GraphiQL (the vendored UMD build: window.React, window.ReactDOM, window.GraphiQL)
 * and sends the headers the hub requires with every request: Authorization: Bearer,
 * X-Purpose and X-Purpose-Reference, taken from the form above the editor. They are kept
 * in sessionStorage (gone when the tab closes), never in localStorage. A sign-in page can
 * fill them the same way: store {token, purpose, reference} under STORAGE_KEY.
 */
(function () {
  "use strict";

  var STORAGE_KEY = "wage-hub.graphiql.credentials";
  var FIELDS = ["token", "purpose", "reference"];
  // Browsers refuse header values outside ISO-8859-1: a reference in Chinese travels as
  // RFC 8187's UTF-8'' followed by the percent-encoded UTF-8 bytes, which the hub decodes.
  // The token and the purpose are ASCII by construction.
  var PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

  function extValue(text) {
    return "UTF-8''" + encodeURIComponent(text).replace(/['()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
  }
  var DEFAULT_QUERY = [
    "# 在上方填入访问令牌和用途，点“应用”，再运行查询（Ctrl-Enter）。",
    "# Token and purpose above, then 应用 (apply) and run.",
    "{",
    "  __typename",
    "}",
    "",
  ].join("\n");

  // GraphiQL 3.9 leaves CodeMirror's input fields without a name, and its scroll areas
  // out of the keyboard's reach (axe-core: label, scrollable-region-focusable).
  var EDITOR_NAMES = [
    [".graphiql-query-editor", "GraphQL 查询 (query)"],
    [".graphiql-editor-tool .graphiql-editor:nth-of-type(1)", "变量 (variables, JSON)"],
    [".graphiql-editor-tool .graphiql-editor:nth-of-type(2)", "请求头 (headers, JSON)"],
    [".result-window", "查询结果 (response)"],
  ];

  var form = document.getElementById("hub-credentials");
  var status = document.getElementById("hub-status");
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));

  function stored() {
    try {
      return JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) || "{}");
    } catch (error) {
      return {};
    }
  }

  function fromForm() {
    var values = {};
    FIELDS.forEach(function (name) {
      values[name] = form.elements[name].value.trim();
    });
    return values;
  }

  function headers(values) {
    var result = {};
    if (values.token) result.Authorization = "Bearer " + values.token;
    if (values.purpose) result["X-Purpose"] = values.purpose;
    if (values.reference) {
      result["X-Purpose-Reference"] = PRINTABLE_ASCII.test(values.reference)
        ? values.reference
        : extValue(values.reference);
    }
    return result;
  }

  function say(text, state) {
    status.textContent = text;
    if (state) status.dataset.state = state;
    else delete status.dataset.state;
  }

  function nameEditors() {
    EDITOR_NAMES.forEach(function (entry) {
      var editor = document.querySelector(entry[0] + " .CodeMirror");
      if (!editor) return;
      var input = editor.querySelector("textarea");
      if (input && input.getAttribute("aria-label") !== entry[1]) {
        input.setAttribute("aria-label", entry[1]);
      }
      var scroller = editor.querySelector(".CodeMirror-scroll");
      if (scroller && scroller.getAttribute("tabindex") !== "0") {
        scroller.setAttribute("tabindex", "0");
        scroller.setAttribute("aria-label", entry[1]);
      }
    });
  }

  function mount(values) {
    var fetcher = GraphiQL.createFetcher({
      url: form.dataset.endpoint,
      headers: headers(values),
    });
    root.render(
      React.createElement(GraphiQL, {
        fetcher: fetcher,
        defaultQuery: DEFAULT_QUERY,
        shouldPersistHeaders: false,
        defaultTheme: "light",
      })
    );
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var values = fromForm();
    var unsendable = ["token", "purpose"].filter(function (name) {
      return !PRINTABLE_ASCII.test(values[name]);
    });
    if (unsendable.length) {
      form.elements[unsendable[0]].focus();
      say("访问令牌和用途只能含 ASCII 字符。", "error");
      return;
    }
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(values));
    mount(values);
    say(
      values.token && values.purpose
        ? "已应用：用途 " + values.purpose + (values.reference ? "，文号 " + values.reference : "") + "。"
        : "还缺访问令牌或用途：查询会被拒绝。",
      values.token && values.purpose ? "" : "error"
    );
  });

  new MutationObserver(nameEditors).observe(document.getElementById("graphiql"), {
    childList: true,
    subtree: true,
  });

  var initial = stored();
  FIELDS.forEach(function (name) {
    if (initial[name] && !form.elements[name].value) form.elements[name].value = initial[name];
  });
  mount(fromForm());
})();
