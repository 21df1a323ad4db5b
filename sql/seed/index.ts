export type { Book, Branch, Copy, CopyStatus, DemoData, Loan, Location, Reader, SiteFragment } from './model';
export { siteFragment } from './model';
export { DEFAULT_SEED, DEMO_SHAPE, generateDemoData, type DemoDataOptions } from './generate';
export { isSeeded, loadDemoData } from './load';
export { isbn13CheckDigit, isValidIsbn13 } from './isbn';
export { demoStaff, loadDemoStaff } from './staff';
export { openPreparedDatabase, prepareInOwnProcess, prepareSiteDatabase, type Preparation, type Prepared } from './prepare';
