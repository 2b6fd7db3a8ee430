// The live dashboard: five figures from the event stream, with p50 and p99 when the service keeps
// quantiles, the top values of a dimension when it has some, and a per-second chart from the series
// (with the window's p50 and p99 as each second's stream event gave them: no read of its own).
// Figures are grouped for reading in the browser's locale. The count, sum, min and max keep every
// digit the API wrote (a JSON number's shortest form, which Intl also formats from); the average,
// a quotient rounded for the API, shows a few decimals, and the quantiles, estimates, three
// significant digits. Each figure's title holds the value as the API gives it.
;(() => {
  const fields = ['count', 'sum', 'avg', 'min', 'max']
  const quantiles = { p50: '0.5', p99: '0.99' }
  const exactly = new Intl.NumberFormat(undefined, { maximumFractionDigits: 20 })
  const roughly = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 6 })
  const twoDecimals = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 })
  // An estimate within 1 % (by default) has about three digits worth showing.
  const estimate = new Intl.NumberFormat(undefined, { maximumSignificantDigits: 3 })

  /** The average for reading: two decimals, or six significant digits below 1. */
  function average(value) {
    return Math.abs(value) >= 1 ? twoDecimals.format(value) : roughly.format(value)
  }
  const state = document.getElementById('state')
  const at = document.getElementById('at')
  let chart
  let refreshing = false
  /** The window's p50 and p99 at each second a stream event came, for the chart. */
  const quantilesAt = new Map()
  let withQuantiles
  const quantilesKnown = new Promise((resolve) => {
    withQuantiles = resolve
  })

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
    if (statistics.quantiles) {
      quantilesAt.set(Math.floor(statistics.at / 1000), {
        p50: statistics.quantiles[quantiles.p50],
        p99: statistics.quantiles[quantiles.p99],
      })
      for (const [id, q] of Object.entries(quantiles)) {
        const value = statistics.quantiles[q]
        const element = document.getElementById(id)
        element.textContent = estimate.format(value)
        element.title = `${value} (within the service's QUANTILE_ACCURACY of the true ${id})`
      }
    }
    at.textContent = new Date(statistics.at).toISOString()
    at.dateTime = at.textContent
  }

  function chartWidth() {
    return Math.max(260, document.getElementById('chart').clientWidth)
  }

  function draw(series, showQuantiles) {
    const windowText = `${series.windowMs / 1000} s`
    document.getElementById('window').textContent = windowText
    document.title = `Transactions in the last ${windowText} — live`
    const data = [
      series.points.map((p) => p.second),
      series.points.map((p) => p.count),
      series.points.map((p) => p.sum),
    ]
    if (showQuantiles) {
      for (const second of quantilesAt.keys()) {
        if (second < (series.points[0]?.second ?? 0)) quantilesAt.delete(second)
      }
      for (const id of Object.keys(quantiles)) {
        data.push(series.points.map((p) => quantilesAt.get(p.second)?.[id] ?? null))
      }
    }
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
          ...(showQuantiles
            ? [
                {
                  label: 'p50 (window)',
                  stroke: '#16a34a',
                  width: 1,
                  scale: 'amount',
                  spanGaps: true,
                },
                {
                  label: 'p99 (window)',
                  stroke: '#dc2626',
                  width: 1,
                  scale: 'amount',
                  spanGaps: true,
                },
              ]
            : []),
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
      if (response.ok) draw(await response.json(), await quantilesKnown)
    } finally {
      refreshing = false
    }
  }

  /** Streams with quantiles when the service keeps them (it answers 422 when it does not). */
  async function connect() {
    const asked = Object.values(quantiles).join(',')
    let query = ''
    try {
      const probe = await fetch(`/statistics?quantiles=${asked}`)
      if (probe.ok) {
        query = `&quantiles=${asked}`
        for (const element of document.querySelectorAll('.quantile')) element.hidden = false
      }
    } catch {
      // Unreachable for now: the stream reconnects by itself, without quantiles.
    }
    withQuantiles(query !== '')
    const stream = new EventSource(`/statistics/stream?interval=1000${query}`)
    stream.addEventListener('open', () => setState('live'))
    stream.addEventListener('error', () => setState('reconnecting'))
    stream.addEventListener('statistics', (event) => {
      setState('live')
      show(JSON.parse(event.data))
      refreshSeries()
    })
  }
  /** One row of the top values' table: text only, since values are whatever clients sent. */
  function row(label, statistics, incomplete) {
    const tr = document.createElement('tr')
    const name = document.createElement('td')
    name.textContent = label
    if (incomplete) {
      name.className = 'incomplete'
      name.title =
        'Some of its transactions may be counted in "other" (the values tracked are bounded)'
    }
    tr.append(name)
    for (const field of ['count', 'sum', 'avg', 'min', 'max']) {
      const cell = document.createElement('td')
      const value = statistics[field]
      cell.textContent = field === 'avg' ? average(value) : exactly.format(value)
      cell.title = String(value)
      tr.append(cell)
    }
    return tr
  }

  function showBreakdown(breakdown) {
    document
      .getElementById('values')
      .replaceChildren(...breakdown.values.map((v) => row(v.value, v, v.incomplete)))
    document
      .getElementById('rest')
      .replaceChildren(
        row('other values', breakdown.other, false),
        row(`no ${breakdown.by}`, breakdown.missing, false),
      )
  }

  /** The dimensions the service has: the values of `by` in its own OpenAPI document. */
  async function dimensionNames() {
    const response = await fetch('/openapi.json').catch(() => undefined)
    if (!response?.ok) return []
    const operation = (await response.json()).paths['/statistics/breakdown']?.get
    const by = operation?.parameters?.find((parameter) => parameter.name === 'by')
    return by?.schema?.enum ?? []
  }

  /** The top 10 values of the chosen dimension, live, when the service has dimensions. */
  async function connectBreakdown() {
    const dimensions = await dimensionNames()
    if (dimensions.length === 0) return
    const select = document.getElementById('dimension')
    select.replaceChildren(
      ...dimensions.map((name) => {
        const option = document.createElement('option')
        option.value = name
        option.textContent = name
        return option
      }),
    )
    let stream
    const open = () => {
      stream?.close()
      const by = encodeURIComponent(select.value)
      stream = new EventSource(`/statistics/stream?interval=1000&by=${by}&limit=10`)
      stream.addEventListener('breakdown', (event) => showBreakdown(JSON.parse(event.data)))
    }
    select.addEventListener('change', open)
    document.querySelector('.breakdown').hidden = false
    open()
  }

  connect()
  connectBreakdown()
  refreshSeries()
})()
