// The live dashboard: five figures from the event stream, a per-second chart from the series.
// Figures are grouped for reading in the browser's locale. The count, sum, min and max keep every
// digit the API wrote (a JSON number's shortest form, which Intl also formats from); the average,
// a quotient rounded for the API, shows a few decimals. Each figure's title holds the exact value.
;(() => {
  const fields = ['count', 'sum', 'avg', 'min', 'max']
  const exactly = new Intl.NumberFormat(undefined, { maximumFractionDigits: 20 })
  const roughly = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 })
  const twoDecimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })

  /** The average for reading: two decimals, or six significant digits below 1. */
  function average(value) {
    return Math.abs(value) >= 1 ? twoDecimals.format(value) : roughly.format(value)
  }
  const state = document.getElementById('state')
  const at = document.getElementById('at')
  let chart
  let refreshing = false

  function setState(name) {
    state.dataset.state = name
    state.textContent = name
  }

  function show(statistics) {
    for (const field of fields) {
      const value = statistics[field]
      const element = document.getElementById(field)
      element.textContent = field === 'avg' ? average(value) : exactly.format(value)
      element.title = String(value)
    }
    at.textContent = new Date(statistics.at).toISOString()
    at.dateTime = at.textContent
  }

  function chartWidth() {
    return Math.max(260, document.getElementById('chart').clientWidth)
  }

  function draw(series) {
    const windowText = `${series.windowMs / 1000} s`
    document.getElementById('window').textContent = windowText
    document.title = `Transactions in the last ${windowText} — live`
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
