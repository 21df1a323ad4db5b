import type { SqlExecutor } from './executor';

/** SQL Server (production target). Placeholder until the mssql executor lands. */
export async function openMssql(url: string): Promise<SqlExecutor> {
  throw new Error(`SQL Server support is not built yet (${url.replace(/\/\/.*@/, '//***@')})`);
}
