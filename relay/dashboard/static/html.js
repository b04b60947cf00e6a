// One place that binds htm to Preact, so every module writes html`…`.
import { Component, h, render } from "./vendor/preact.mjs";
import htm from "./vendor/htm.mjs";

export const html = htm.bind(h);
export { render };

// A component that re-renders only when one of its props changed by identity: big lists
// then re-render just the rows whose data changed.
export function pure(view) {
  return class Pure extends Component {
    shouldComponentUpdate(next) {
      const keys = new Set([...Object.keys(next), ...Object.keys(this.props)]);
      for (const key of keys) if (next[key] !== this.props[key]) return true;
      return false;
    }
    render(props) { return view(props); }
  };
}
export {
  useCallback, useEffect, useMemo, useReducer, useRef, useState,
} from "./vendor/preact-hooks.mjs";
