/* The lead's dashboard: ECharts for the sections that have a chart, drawn when the page loads and
 * whenever htmx swaps a section in (each chart's numbers come from its data-values attribute, and
 * the same numbers are in the section's table). The queue's buttons, the tabs and
 * the refreshes are htmx attributes in the templates; this file only draws and reports errors.
 * No inline scripts (CSP). */
(function () {
  "use strict";

  var COLORS = {
    not_started: "#a0aec0",
    in_progress: "#2b6cb0",
    submitted: "#b7791f",
    verified: "#2f855a",
    repealed: "#718096",
    overdue: "#c53030",
    planned: "#61707f",
  };
  var STATES = [
    ["not_started", "未启动"],
    ["in_progress", "推进中"],
    ["submitted", "待核验"],
    ["verified", "已核验"],
  ];

  function readData(el) {
    try {
      return JSON.parse(el.dataset.values || "null");
    } catch (e) {
      return null;
    }
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
    /* 已废止 is its own series where the server sent it (only where there are any). */
    var states = rows.some(function (r) {
      return "repealed" in r;
    })
      ? STATES.concat([["repealed", "已废止"]])
      : STATES;
    var series = states.map(function (s) {
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

  function pluck(rows, key) {
    return rows.map(function (r) {
      return r[key];
    });
  }

  var CHARTS = {
    status: function (data) {
      return {
        tooltip: { trigger: "item" },
        series: [
          {
            type: "pie",
            radius: ["40%", "70%"],
            label: { formatter: "{b}：{c}" },
            data: data.map(function (s) {
              return { name: s.name, value: s.value, itemStyle: { color: COLORS[s.key] } };
            }),
          },
        ],
      };
    },
    bodies: function (data, el) {
      el.style.height = Math.max(240, data.length * 22 + 60) + "px";
      return stacked(data, true);
    },
    chapters: function (data) {
      return stacked(data, false);
    },
    trend: function (data) {
      return {
        title: { text: "每周核验完成与新增逾期", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis" },
        legend: { top: 0, right: 0 },
        grid: { left: 40, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", data: pluck(data, "week") },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: "核验完成", type: "bar", itemStyle: { color: COLORS.verified }, data: pluck(data, "completed") },
          { name: "新增逾期", type: "bar", itemStyle: { color: COLORS.overdue }, data: pluck(data, "newly_overdue") },
        ],
      };
    },
    burndown: function (data) {
      return {
        title: { text: "燃尽：未核验义务（实际 / 按期限计划）", textStyle: { fontSize: 14 } },
        tooltip: { trigger: "axis" },
        legend: { top: 0, right: 0 },
        grid: { left: 50, right: 20, top: 40, bottom: 40 },
        xAxis: { type: "category", data: pluck(data, "week") },
        yAxis: { type: "value", minInterval: 1 },
        series: [
          { name: "实际未核验", type: "line", itemStyle: { color: COLORS.in_progress }, data: pluck(data, "open") },
          {
            name: "计划未核验",
            type: "line",
            lineStyle: { type: "dashed" },
            itemStyle: { color: COLORS.planned },
            data: pluck(data, "planned_open"),
          },
        ],
      };
    },
  };

  /* Draw every chart inside `root` (the document, or a section htmx has just swapped in). */
  function drawIn(root) {
    if (!window.echarts || !root || !root.querySelectorAll) return;
    var nodes = Array.prototype.slice.call(root.querySelectorAll("[data-chart]"));
    if (root.matches && root.matches("[data-chart]")) nodes.push(root);
    nodes.forEach(function (el) {
      var build = CHARTS[el.dataset.chart];
      var data = readData(el);
      if (!build || !data) return;
      var old = window.echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var option = build(data, el);
      window.echarts.init(el, null, { renderer: "svg" }).setOption(option);
    });
  }

  window.addEventListener("resize", function () {
    if (!window.echarts) return;
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = window.echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });

  /* The tab of the section shown is marked as the current one, and the filter form keeps it open. */
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest(".dash-tabs a");
    if (!link) return;
    document.querySelectorAll(".dash-tabs a").forEach(function (a) {
      a.setAttribute("aria-selected", a === link ? "true" : "false");
    });
    var panel = document.getElementById("section-panel");
    if (panel) {
      panel.removeAttribute("aria-label");
      panel.setAttribute("aria-labelledby", link.id);
    }
    var form = document.querySelector("form.filters");
    if (!form) return;
    var input = form.querySelector("input[name=tab]");
    if (!input) {
      input = document.createElement("input");
      input.type = "hidden";
      input.name = "tab";
      form.appendChild(input);
    }
    input.value = link.dataset.tab;
  });

  /* A queue action that htmx could not show (403, 500, network): say so in the queue's status line. */
  function queueError(event, text) {
    var source = event.detail && event.detail.elt;
    if (!source || !source.closest || !source.closest("#sec-queue")) return;
    var box = document.querySelector("#sec-queue .queue-status");
    if (!box) return;
    box.textContent = text;
    box.className = "queue-status msg-error";
  }

  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : "";
    queueError(event, status === 403 ? "您无权执行此操作。" : "操作失败（" + status + "），请刷新后重试。");
  });
  document.addEventListener("htmx:sendError", function (event) {
    queueError(event, "网络错误，请稍后重试。");
  });
  document.addEventListener("htmx:load", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt === document.body) return; // the page itself: drawn below already
    drawIn(elt);
  });

  drawIn(document);
})();
