import Link from "next/link";
import { HealthCard } from "./health-card";

export default function HomePage() {
  return (
    <div className="space-y-6">
      <section>
        <h1 className="text-2xl font-semibold tracking-tight">nbdhub</h1>
        <p className="mt-2 max-w-3xl text-slate-600 dark:text-slate-300">
          The NBD layer of the backup hub. For every disk of a VM backup, nbdhub hands out a TCP port from its pool, runs
          one <code className="font-mono text-sm">qemu-nbd</code> exporting the target qcow2 file, lets a data mover write
          the disk into it over NBD, then stops the export, verifies the file and gives the port back.
        </p>
      </section>
      <HealthCard />
      <section aria-labelledby="where" className="grid gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <h2 id="where" className="sr-only">Where to go</h2>
        {[
          { href: "/jobs", title: "Jobs", text: "Backup history shared by the team, and each job's disks." },
          { href: "/jobs/new", title: "New backup", text: "Back up a VM's disks from the sources directory or an NBD URI." },
          { href: "/ports", title: "Ports", text: "The NBD port pool: which port is free, held or exporting." },
          { href: "/exports", title: "Exports", text: "Running qemu-nbd processes, their files and URIs." },
        ].map((card) => (
          <Link key={card.href} href={card.href} className="rounded-lg border border-slate-200 bg-white p-4 hover:border-sky-500 focus-visible:outline-2 focus-visible:outline-sky-600 dark:border-slate-800 dark:bg-slate-900">
            <h3 className="font-medium">{card.title}</h3>
            <p className="mt-1 text-sm text-slate-600 dark:text-slate-400">{card.text}</p>
          </Link>
        ))}
      </section>
    </div>
  );
}
