const utf8 = new TextEncoder()

/** Truncates to at most `maxBytes` of UTF-8 without splitting a character (an Event's message has a byte limit). */
export const truncateUtf8 = (text: string, maxBytes: number): string => {
  if (utf8.encode(text).length <= maxBytes) return text
  let out = ""
  let bytes = 0
  for (const char of text) {
    const size = utf8.encode(char).length
    if (bytes + size > maxBytes) break
    out += char
    bytes += size
  }
  return out
}
