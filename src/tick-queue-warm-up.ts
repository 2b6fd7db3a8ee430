/**
 * Warms Node's `process.nextTick` before any other module of the service runs.
 *
 * Every request passes through nextTick several times (Node's HTTP server and streams). On
 * Node 20, the stores of its tick-object literal (`{ [async_id_symbol]: …, callback, args }`)
 * often turned megamorphic while the service started, and V8 then compiled nextTick with a
 * runtime call per property for the rest of the process: most processes paid it on every
 * request, and two processes of one build differed widely in CPU per request. Called many
 * times in a row with one shape first, nextTick is compiled with inline stores and keeps that
 * code. On Node 22 and 24 it changes nothing measurable; it can go when Node 20 does.
 */

/** Enough calls in a row for V8 to optimise nextTick while its feedback has one shape. */
const CALLS = 10_000

const noop = () => {}
for (let i = 0; i < CALLS; i++) process.nextTick(noop)
