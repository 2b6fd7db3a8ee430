/** The window's length as the docs, metrics and pages say it: "60 s", "2.5 s", "300 s". */
export function windowText(windowMs: number): string {
  return `${windowMs / 1000} s`
}
