/** The database clock in epoch milliseconds. */
export const DB_NOW = `SELECT (extract(epoch from clock_timestamp()) * 1000)::float8 AS now`;
