import { Empty } from './states.js';

/** Overview and Databases both start empty until a collector target is configured: the same advice. */
export function NoDatabaseWatched() {
  return (
    <Empty>
      <p>
        <strong>No database is watched yet.</strong> Add a PostgreSQL or MySQL target under{' '}
        <code>collect</code> in the config (see the README) and restart.
      </p>
    </Empty>
  );
}
