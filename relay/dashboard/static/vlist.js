// A virtual list: only the rows in view (plus a margin) are in the DOM; a spacer stands in for
// the rest. Rows have one fixed height, so the window is arithmetic, not measurement: 2,000
// agents cost the same few dozen row elements as 40, and an update re-renders only those.
import { html, useEffect, useRef, useState } from "./html.js";

const OVERSCAN = 6;

// Whether the viewport is at most `px` wide (re-renders when that flips).
export function useNarrow(px = 640) {
  const query = `(max-width: ${px}px)`;
  const [narrow, setNarrow] = useState(() => matchMedia(query).matches);
  useEffect(() => {
    const list = matchMedia(query);
    const update = () => setNarrow(list.matches);
    list.addEventListener("change", update);
    return () => list.removeEventListener("change", update);
  }, [query]);
  return narrow;
}

// The room left below the list's top edge in the window, so the page itself barely scrolls.
function fitHeight(element) {
  const top = element.getBoundingClientRect().top + scrollY;
  return Math.max(320, innerHeight - top - 16);
}

// props: count, rowHeight, row(index, ariaRowIndex) → vnode, scrollRef (gets the element),
// className. The caller renders its header (aria-rowindex 1) outside.
export function VirtualList({ count, rowHeight, row, scrollRef, className = "" }) {
  const ref = useRef(null);
  const [first, setFirst] = useState(0);
  const [height, setHeight] = useState(600);
  useEffect(() => {
    const element = ref.current;
    if (scrollRef) scrollRef.current = element;
    const resize = () => setHeight(fitHeight(element));
    resize();
    addEventListener("resize", resize);
    return () => removeEventListener("resize", resize);
  }, []);
  function onScroll(event) {
    const start = Math.floor(event.currentTarget.scrollTop / rowHeight);
    if (start !== first) setFirst(start);
  }
  const visible = Math.ceil(height / rowHeight);
  const from = Math.max(0, Math.min(first, count - visible) - OVERSCAN);
  const to = Math.min(count, first + visible + OVERSCAN);
  const rows = [];
  for (let i = from; i < to; i += 1) rows.push(row(i, i + 2));
  return html`<div ref=${ref} class=${`vscroll ${className}`} role="rowgroup" onScroll=${onScroll}
      style=${`max-height:${height}px`}>
    <div role="none" style=${`box-sizing:border-box;height:${count * rowHeight}px;padding-top:${from * rowHeight}px`}>
      ${rows}
    </div>
  </div>`;
}
