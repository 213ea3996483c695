/* The lead's dashboard: ECharts from the data the page embeds (json_script "dashboard-data"),
 * and the verify / return buttons of the verification queue. No inline scripts (CSP).
 * Every chart has a table with the same numbers in the page, so nothing is lost without JS. */
(function () {
  "use strict";

  var COLORS = {
    not_started: "#a0aec0",
    in_progress: "#2b6cb0",
    submitted: "#b7791f",
    verified: "#2f855a",
    overdue: "#c53030",
    planned: "#61707f",
  };
  var STATES = [
    ["not_started", "未启动"],
    ["in_progress", "推进中"],
    ["submitted", "待核验"],
    ["verified", "已核验"],
  ];

  function readData() {
    var node = document.getElementById("dashboard-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (e) {
      return null;
    }
  }

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return null;
    var instance = window.echarts.init(el, null, { renderer: "svg" });
    instance.setOption(option);
    window.addEventListener("resize", function () {
      instance.resize();
    });
    return instance;
  }

  /* Column labels ("第二章 数字基础设施建设"): on two lines on a wide screen; on a phone only the
   * first word ("第二章"). Slanted long names overlapped each other and ran off the chart. */
  function columnLabels() {
    var wide = window.innerWidth >= 600;
    return {
      interval: 0,
      formatter: function (name) {
        var words = String(name).split(" ");
        return wide ? words[0] + "\n" + words.slice(1).join(" ") : words[0];
      },
    };
  }

  function stacked(rows, horizontal) {
    var names = rows.map(function (r) {
      return r.name;
    });
    var series = STATES.map(function (s) {
      return {
        name: s[1],
        type: "bar",
        stack: "total",
        itemStyle: { color: COLORS[s[0]] },
        data: rows.map(function (r) {
          return r[s[0]];
        }),
      };
    });
    var categoryAxis = { type: "category", data: names, axisLabel: { interval: 0 } };
    var valueAxis = { type: "value", minInterval: 1 };
    return {
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      legend: { top: 0 },
      grid: { left: horizontal ? 110 : 40, right: 20, top: 30, bottom: horizontal ? 20 : 80, containLabel: false },
      xAxis: horizontal ? valueAxis : Object.assign({}, categoryAxis, { axisLabel: columnLabels() }),
      yAxis: horizontal ? Object.assign({}, categoryAxis, { inverse: true }) : valueAxis,
      series: series,
    };
  }

  function drawCharts(data) {
    chart("chart-status", {
      tooltip: { trigger: "item" },
      series: [
        {
          type: "pie",
          radius: ["40%", "70%"],
          label: { formatter: "{b}：{c}" },
          data: data.status.map(function (s) {
            return { name: s.name, value: s.value, itemStyle: { color: COLORS[s.key] } };
          }),
        },
      ],
    });
    var bodiesEl = document.getElementById("chart-bodies");
    if (bodiesEl) {
      bodiesEl.style.height = Math.max(240, data.bodies.length * 22 + 60) + "px";
      chart("chart-bodies", stacked(data.bodies, true));
    }
    chart("chart-chapters", stacked(data.chapters, false));
    var weeks = data.trend.map(function (w) {
      return w.week;
    });
    chart("chart-trend", {
      title: { text: "每周核验完成与新增逾期", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0 },
      grid: { left: 40, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: weeks },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "核验完成", type: "bar", itemStyle: { color: COLORS.verified }, data: data.trend.map(function (w) { return w.completed; }) },
        { name: "新增逾期", type: "bar", itemStyle: { color: COLORS.overdue }, data: data.trend.map(function (w) { return w.newly_overdue; }) },
      ],
    });
    chart("chart-burndown", {
      title: { text: "燃尽：未核验义务（实际 / 按期限计划）", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" },
      legend: { top: 0, right: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 40 },
      xAxis: { type: "category", data: weeks },
      yAxis: { type: "value", minInterval: 1 },
      series: [
        { name: "实际未核验", type: "line", itemStyle: { color: COLORS.in_progress }, data: data.trend.map(function (w) { return w.open; }) },
        { name: "计划未核验", type: "line", lineStyle: { type: "dashed" }, itemStyle: { color: COLORS.planned }, data: data.trend.map(function (w) { return w.planned_open; }) },
      ],
    });
  }

  /* Verification queue: POST /api/obligations/{id}/transitions/ {action, reason, version}. */
  function say(text, isError) {
    var box = document.querySelector(".queue-status");
    if (!box) return;
    box.textContent = text;
    box.className = "queue-status " + (isError ? "msg-error" : "msg-ok");
  }

  function onQueueSubmit(event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("queue-action")) return;
    event.preventDefault();
    var button = event.submitter;
    var action = button ? button.value : "verify";
    var reason = (form.elements.reason && form.elements.reason.value.trim()) || "";
    if (action === "return" && !reason) {
      say("退回时请填写意见。", true);
      if (form.elements.reason) form.elements.reason.focus();
      return;
    }
    var token = form.querySelector("input[name=csrfmiddlewaretoken]");
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) { b.disabled = true; });
    fetch(form.dataset.endpoint, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": token ? token.value : "",
      },
      body: JSON.stringify({ action: action, reason: reason, version: Number(form.dataset.version) }),
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () { return {}; })
          .then(function (body) { return { status: response.status, body: body }; });
      })
      .then(function (result) {
        if (result.status >= 200 && result.status < 300) {
          var row = form.closest("tr");
          if (row) row.remove();
          say(action === "verify" ? "已核验通过。" : "已退回。", false);
        } else if (result.status === 404) {
          say("核验接口暂不可用，请打开详情页办理。", true);
          buttons.forEach(function (b) { b.disabled = false; });
        } else {
          say((result.body && result.body.message) || "操作失败（" + result.status + "），请刷新后重试。", true);
          buttons.forEach(function (b) { b.disabled = false; });
        }
      })
      .catch(function () {
        say("网络错误，请稍后重试。", true);
        buttons.forEach(function (b) { b.disabled = false; });
      });
  }

  document.addEventListener("submit", onQueueSubmit);
  var data = readData();
  if (data) drawCharts(data);
})();
