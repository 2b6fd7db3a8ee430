// The live dashboard: five figures from the event stream, a per-second chart from the series.
// Numbers are shown as the API writes them (String of the parsed JSON number gives back the same
// shortest form), never reformatted or rounded.
;(() => {
  const fields = ['count', 'sum', 'avg', 'min', 'max']
  const state = document.getElementById('state')
  const at = document.getElementById('at')
  let chart
  let refreshing = false

  function setState(name) {
    state.dataset.state = name
    state.textContent = name
  }

  function show(statistics) {
    for (const field of fields)
      document.getElementById(field).textContent = String(statistics[field])
    at.textContent = new Date(statistics.at).toISOString()
    at.dateTime = at.textContent
  }

  function chartWidth() {
    return Math.max(260, document.getElementById('chart').clientWidth)
  }

  function draw(series) {
    document.getElementById('window').textContent = String(series.windowMs / 1000)
    const data = [
      series.points.map((p) => p.second),
      series.points.map((p) => p.count),
      series.points.map((p) => p.sum),
    ]
    if (chart) {
      chart.setData(data)
      return
    }
    chart = new uPlot(
      {
        width: chartWidth(),
        height: 240,
        series: [
          {},
          { label: 'count', stroke: '#2563eb', width: 2 },
          { label: 'sum', stroke: '#f59e0b', width: 2, scale: 'sum' },
        ],
        axes: [
          {},
          { label: 'count' },
          { side: 1, scale: 'sum', label: 'sum', grid: { show: false } },
        ],
      },
      data,
      document.getElementById('chart'),
    )
    window.addEventListener('resize', () => chart.setSize({ width: chartWidth(), height: 240 }))
  }

  async function refreshSeries() {
    if (refreshing) return
    refreshing = true
    try {
      const response = await fetch('/statistics/series')
      if (response.ok) draw(await response.json())
    } finally {
      refreshing = false
    }
  }

  const stream = new EventSource('/statistics/stream?interval=1000')
  stream.addEventListener('open', () => setState('live'))
  stream.addEventListener('error', () => setState('reconnecting'))
  stream.addEventListener('statistics', (event) => {
    setState('live')
    show(JSON.parse(event.data))
    refreshSeries()
  })
  refreshSeries()
})()
