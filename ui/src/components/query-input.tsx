import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';

export interface Suggestions {
  /** Completions of the word at the cursor, whole (they replace it). */
  items: string[];
  /** Where the word being completed starts. */
  from: number;
}

export interface QueryInputProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  onSubmit: () => void;
  suggest: (text: string, cursor: number) => Suggestions;
  placeholder?: string;
  /** Shown under the box (syntax errors with their position). */
  describedBy?: string;
}

/**
 * A query box with completions (ARIA 1.2 combobox): arrows move, Enter or Tab takes the
 * highlighted completion, Enter with none runs the query, Escape closes the list.
 */
export function QueryInput(props: QueryInputProps) {
  const { value, onChange, onSubmit, suggest } = props;
  const id = useId();
  const listId = `${id}-list`;
  const input = useRef<HTMLInputElement>(null);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [suggestions, setSuggestions] = useState<Suggestions>({ items: [], from: 0 });

  const refresh = (text: string, cursor: number): void => {
    const next = suggest(text, cursor);
    setSuggestions(next);
    setActive(-1);
    setOpen(next.items.length > 0);
  };

  // Completions that arrive while the user types (metric names, attribute keys) show at once.
  useEffect(() => {
    const element = input.current;
    if (element === null || document.activeElement !== element) return;
    refresh(element.value, element.selectionStart ?? element.value.length);
    // Only when the completions change, not on every keystroke (onChange refreshes those).
  }, [suggest]);

  const accept = (item: string): void => {
    const element = input.current;
    const cursor = element?.selectionStart ?? value.length;
    // The rest of the word after the cursor is replaced too.
    let end = cursor;
    while (end < value.length && !/[\s()]/.test(value[end] ?? '')) end++;
    const next = value.slice(0, suggestions.from) + item + value.slice(end);
    onChange(next);
    setOpen(false);
    const position = suggestions.from + item.length;
    requestAnimationFrame(() => {
      element?.focus();
      element?.setSelectionRange(position, position);
      // A field name ends in ':' and the value's completions follow.
      if (item.endsWith(':')) refresh(next, position);
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLInputElement>): void => {
    const count = suggestions.items.length;
    if (event.key === 'ArrowDown' && open && count > 0) {
      event.preventDefault();
      setActive((active + 1) % count);
    } else if (event.key === 'ArrowUp' && open && count > 0) {
      event.preventDefault();
      setActive((active - 1 + count) % count);
    } else if ((event.key === 'Enter' || event.key === 'Tab') && open && active >= 0) {
      event.preventDefault();
      accept(suggestions.items[active] ?? '');
    } else if (event.key === 'Escape' && open) {
      event.preventDefault();
      setOpen(false);
    } else if (event.key === 'Enter') {
      event.preventDefault();
      setOpen(false);
      onSubmit();
    }
  };

  return (
    <div className="query-input">
      <label htmlFor={id} className="visually-hidden">
        {props.label}
      </label>
      <input
        id={id}
        ref={input}
        type="text"
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={open && active >= 0 ? `${listId}-${active}` : undefined}
        aria-describedby={props.describedBy}
        autoComplete="off"
        spellCheck={false}
        placeholder={props.placeholder}
        value={value}
        onChange={(e) => {
          onChange(e.target.value);
          refresh(e.target.value, e.target.selectionStart ?? e.target.value.length);
        }}
        onKeyDown={onKeyDown}
        onFocus={(e) => refresh(e.target.value, e.target.selectionStart ?? e.target.value.length)}
        onBlur={() => setOpen(false)}
      />
      <ul id={listId} role="listbox" className="suggestions" hidden={!open} aria-label="Completions">
        {suggestions.items.map((item, i) => (
          <li
            key={item}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            // mousedown, not click: the input's blur would close the list first.
            onMouseDown={(event) => {
              event.preventDefault();
              accept(item);
            }}
          >
            {item}
          </li>
        ))}
      </ul>
    </div>
  );
}

/** The word ending at the cursor: from the last space, '(' or a leading '-'. */
export function wordAt(text: string, cursor: number): { word: string; from: number } {
  let from = cursor;
  while (from > 0 && !/[\s(]/.test(text[from - 1] ?? '')) from--;
  if (text[from] === '-') from++;
  return { word: text.slice(from, cursor), from };
}
