/**
 * Descriptive metadata of an object as the catalog stores it (one JSON document per object), already
 * normalized at conversion time: language maps everywhere, page references resolved to page
 * identifiers, URLs checked. The manifest builders turn it into Presentation 3.0 or 2.1 as is.
 */

/** A IIIF language map: BCP 47 tag (or `none`) → values. */
export type LanguageMap = Record<string, string[]>;

export interface LabelValue {
  readonly label: LanguageMap;
  readonly value: LanguageMap;
}

/** A web resource linked from the object (homepage, seeAlso, a provider's logo). */
export interface LinkedResource {
  readonly id: string;
  readonly type: string;
  readonly label?: LanguageMap | undefined;
  readonly format?: string | undefined;
  readonly profile?: string | undefined;
  readonly language?: string[] | undefined;
}

/** The institution that provides the object (Presentation 3.0 `provider`). */
export interface Agent {
  readonly id: string;
  readonly label: LanguageMap;
  readonly homepage?: LinkedResource[] | undefined;
  readonly logo?: LinkedResource[] | undefined;
  readonly seeAlso?: LinkedResource[] | undefined;
}

/** One entry of the table of contents: its pages (page identifiers, in order), then its sub-ranges. */
export interface RangeSpec {
  readonly label: LanguageMap;
  readonly pages: string[];
  readonly ranges: RangeSpec[];
}

/** The descriptive fields objects and collections share. */
export interface DescriptiveMetadata {
  readonly label?: LanguageMap | undefined;
  readonly summary?: LanguageMap | undefined;
  readonly metadata?: LabelValue[] | undefined;
  /** A Creative Commons or RightsStatements.org URI (http). */
  readonly rights?: string | undefined;
  readonly requiredStatement?: LabelValue | undefined;
  readonly provider?: Agent[] | undefined;
  /** Homepages; a homepage without a label takes the object's (or collection's) label. */
  readonly homepage?: LinkedResource[] | undefined;
  readonly seeAlso?: LinkedResource[] | undefined;
  /** xsd:dateTime, UTC (`1852-03-01T00:00:00Z`). */
  readonly navDate?: string | undefined;
}

export interface ObjectMetadata extends DescriptiveMetadata {
  readonly behavior?: string[] | undefined;
  readonly viewingDirection?: string | undefined;
  /** Page labels by page identifier (pages without one are labelled with their number). */
  readonly pageLabels?: Record<string, LanguageMap> | undefined;
  readonly structure?: RangeSpec[] | undefined;
}

/**
 * The description of a collection (a folder of objects), from its `collection.yml`: the descriptive
 * fields an object has, and the page that pictures it.
 */
export interface CollectionMetadata extends DescriptiveMetadata {
  /** The page whose image stands for the collection: its object id and page identifier. */
  readonly thumbnail?: { readonly object: string; readonly page: string } | undefined;
}
