import type { Metadata } from "next";
import Link from "next/link";
import type { ReactNode } from "react";
import "./globals.css";
import { MainNav } from "./components/main-nav";
import { Providers } from "./providers";
import { UserMenu } from "./user-menu";

export const metadata: Metadata = {
  title: { default: "nbdhub", template: "%s · nbdhub" },
  description: "The NBD layer of a VM backup hub: ports, qemu-nbd exports and backup jobs",
  // The files are in public/ (served as they are, no sign-in needed: proxy.ts leaves them out).
  icons: {
    icon: [
      { url: "/favicon.ico", sizes: "16x16 32x32 48x48" },
      { url: "/icon.svg", type: "image/svg+xml" },
    ],
    apple: "/apple-touch-icon.png",
  },
  manifest: "/site.webmanifest",
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body className="min-h-screen antialiased">
        <a
          href="#main"
          className="sr-only focus:not-sr-only focus:fixed focus:top-2 focus:left-2 focus:z-50 focus:rounded-md focus:bg-white focus:px-3 focus:py-2 focus:text-sm focus:shadow dark:focus:bg-slate-900"
        >
          Skip to content
        </a>
        <Providers>
          <header className="sticky top-0 z-30 border-b border-slate-200 bg-white/90 backdrop-blur dark:border-slate-800 dark:bg-slate-900/90">
            <div className="mx-auto flex h-14 max-w-[1600px] items-center gap-4 px-4 sm:px-6">
              <Link
                href="/"
                className="flex items-center gap-2 rounded-md text-lg font-semibold tracking-tight focus-visible:outline-2 focus-visible:outline-sky-600"
              >
                <span
                  aria-hidden
                  className="grid h-7 w-7 place-items-center rounded-md bg-sky-600 text-xs font-bold text-white dark:bg-sky-500"
                >
                  nb
                </span>
                <span>
                  nbd<span className="text-sky-600 dark:text-sky-400">hub</span>
                </span>
              </Link>
              <MainNav />
              <div className="ml-auto flex items-center gap-3">
                <UserMenu />
              </div>
            </div>
          </header>
          <main id="main" className="mx-auto max-w-[1600px] px-4 py-6 sm:px-6 lg:py-8">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
