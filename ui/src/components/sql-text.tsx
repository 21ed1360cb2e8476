import { useMemo } from 'react';
import { tokenizeSql } from '../sql-tokens.js';

/** A statement with its tokens coloured; the text itself is exactly the statement (copy gives it back). */
export function SqlText({ sql }: { sql: string }) {
  const tokens = useMemo(() => tokenizeSql(sql), [sql]);
  return (
    <pre className="sql" aria-label="Statement">
      <code>
        {tokens.map((token, i) =>
          token.kind === 'whitespace' || token.kind === 'identifier' || token.kind === 'punctuation' ? (
            token.text
          ) : (
            <span key={i} className={`sql-${token.kind}`}>
              {token.text}
            </span>
          ),
        )}
      </code>
    </pre>
  );
}
