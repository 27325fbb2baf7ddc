import type { Dimensions } from '../image-api/request.js';

/**
 * How a page image sits on a PDF page. A page is declared at a fixed resolution, so that the PDF
 * prints at a plausible paper size (a 1500 px page is 10 in, 25 cm) and a PDF reader shows it at
 * 100 % about as large as a screen; pdftoppm -r 150 gives the embedded pixels back one for one.
 */
export const PAGE_PPI = 150;

/** PDF points (1/72 in) per image pixel. */
export const POINTS_PER_PIXEL = 72 / PAGE_PPI;

/** The page size in points of an image `size` px. */
export const pageSizeOf = (size: Dimensions): Dimensions => ({ width: size.width * POINTS_PER_PIXEL, height: size.height * POINTS_PER_PIXEL });

/**
 * The Image API size parameter of a page at most `longest` px on its longest side: `max` when the
 * image (or the view the gate allows) is no larger, else `!L,L` (the same URL a viewer would ask,
 * so the PDF's pixels are the IIIF image's).
 */
export function pageSizeParam(image: Dimensions, longest: number): string {
  return Math.max(image.width, image.height) <= longest ? 'max' : `!${longest},${longest}`;
}

/** A rectangle in points, x/y its top left corner (PDFKit's coordinates: y grows downwards). */
export interface PointRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A box in canvas pixels on a page of `page` points showing a canvas of `canvas` pixels. */
export function boxOnPage(box: { x: number; y: number; w: number; h: number }, canvas: Dimensions, page: Dimensions): PointRect {
  const sx = page.width / canvas.width;
  const sy = page.height / canvas.height;
  return { x: box.x * sx, y: box.y * sy, width: box.w * sx, height: box.h * sy };
}
