// A few line icons (24×24, stroke = currentColor), decorative: callers label the control. An
// icon is data: the SVG shapes it is drawn with, in one table; one component draws any of them.
import { createElement, type SVGProps } from "react";

/** An <svg>'s props; `name` is the icon's own (below), not the SVG attribute. */
type IconProps = Omit<SVGProps<SVGSVGElement>, "name">;

/** One SVG element of an icon: its tag and attributes, drawn as they are written. */
type Shape =
  | ["path", { d: string }]
  | ["rect", { x: number; y: number; width: number; height: number; rx: number }]
  | ["circle", { cx: number; cy: number; r: number }]
  | ["ellipse", { cx: number; cy: number; rx: number; ry: number }];

const square = (x: number, y: number, size: number, rx: number): Shape => [
  "rect",
  { x, y, width: size, height: size, rx },
];

const SHAPES = {
  plus: [["path", { d: "M12 5v14M5 12h14" }]],
  stop: [square(6, 6, 12, 1.5)],
  x: [["path", { d: "M6 6l12 12M18 6L6 18" }]],
  refresh: [["path", { d: "M20 11a8 8 0 1 0-2.3 5.7M20 4v7h-7" }]],
  copy: [square(9, 9, 11, 2), ["path", { d: "M5 15V6a2 2 0 0 1 2-2h9" }]],
  check: [["path", { d: "M5 12.5l4.5 4.5L19 7.5" }]],
  alert: [
    ["path", { d: "M12 3.5l9.5 16.5h-19L12 3.5z" }],
    ["path", { d: "M12 10v4.5M12 17.5v.01" }],
  ],
  info: [
    ["circle", { cx: 12, cy: 12, r: 9 }],
    ["path", { d: "M12 11v5.5M12 7.5v.01" }],
  ],
  disk: [
    ["ellipse", { cx: 12, cy: 6, rx: 8, ry: 3 }],
    ["path", { d: "M4 6v12c0 1.7 3.6 3 8 3s8-1.3 8-3V6" }],
    ["path", { d: "M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3" }],
  ],
  port: [square(3, 3, 7, 1.5), square(14, 3, 7, 1.5), square(3, 14, 7, 1.5), square(14, 14, 7, 1.5)],
  process: [
    ["rect", { x: 3, y: 4, width: 18, height: 16, rx: 2 }],
    ["path", { d: "M7 9l3 3-3 3M13 15h4" }],
  ],
  jobs: [
    ["path", { d: "M8 6h12M8 12h12M8 18h12" }],
    ["path", { d: "M4 6h.01M4 12h.01M4 18h.01" }],
  ],
  arrowLeft: [["path", { d: "M19 12H5M11 18l-6-6 6-6" }]],
  link: [
    ["path", { d: "M10 14a4 4 0 0 0 5.7 0l3-3a4 4 0 0 0-5.7-5.7l-1 1" }],
    ["path", { d: "M14 10a4 4 0 0 0-5.7 0l-3 3a4 4 0 0 0 5.7 5.7l1-1" }],
  ],
} satisfies Record<string, Shape[]>;

export type IconName = keyof typeof SHAPES;

export function Icon({ name, className = "h-4 w-4", ...props }: IconProps & { name: IconName }) {
  const shapes: Shape[] = SHAPES[name];
  return (
    <svg
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden="true"
      className={className}
      {...props}
    >
      {shapes.map(([tag, attributes], i) => createElement(tag, { key: i, ...attributes }))}
    </svg>
  );
}

// The named icons the console imports.
export const PlusIcon = (p: IconProps) => <Icon {...p} name="plus" />;
export const StopIcon = (p: IconProps) => <Icon {...p} name="stop" />;
export const XIcon = (p: IconProps) => <Icon {...p} name="x" />;
export const RefreshIcon = (p: IconProps) => <Icon {...p} name="refresh" />;
export const CopyIcon = (p: IconProps) => <Icon {...p} name="copy" />;
export const CheckIcon = (p: IconProps) => <Icon {...p} name="check" />;
export const AlertIcon = (p: IconProps) => <Icon {...p} name="alert" />;
export const InfoIcon = (p: IconProps) => <Icon {...p} name="info" />;
export const DiskIcon = (p: IconProps) => <Icon {...p} name="disk" />;
export const PortIcon = (p: IconProps) => <Icon {...p} name="port" />;
export const ProcessIcon = (p: IconProps) => <Icon {...p} name="process" />;
export const JobsIcon = (p: IconProps) => <Icon {...p} name="jobs" />;
export const ArrowLeftIcon = (p: IconProps) => <Icon {...p} name="arrowLeft" />;
export const LinkIcon = (p: IconProps) => <Icon {...p} name="link" />;
