export { MutableSiteDirectory, type DirectorySite, type SiteChange, type SiteDirectory, type SiteState } from './directory';
export { siteChanges, type Holdings, type NewSite, type SiteChanges } from './changes';
