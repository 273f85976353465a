import { ButtonLink } from "./components/button";
import { Dashboard } from "./components/dashboard/dashboard";
import { PlusIcon } from "./components/icons";
import { headedPage } from "./components/page-header";
import { HealthCard } from "./health-card";

export default headedPage(
  {
    title: "nbdhub",
    description: (
      <p>
        The NBD layer of the backup hub. For every disk of a VM backup, nbdhub hands out a TCP port from its pool, runs
        one <code className="font-mono text-[0.8125rem]">qemu-nbd</code> exporting the target qcow2 file, lets a data
        mover write the disk into it over NBD, then stops the export, verifies the file and gives the port back.
      </p>
    ),
    actions: (
      <ButtonLink href="/jobs/new" variant="primary" icon={<PlusIcon />}>
        New backup
      </ButtonLink>
    ),
  },
  <Dashboard health={<HealthCard />} />,
);
