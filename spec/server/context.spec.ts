import { expect } from "chai";

import { RunningConnections, type TrackedConnection } from "../../lib/server/context";

function connection(id: number): TrackedConnection {
  return {
    id,
    kind: "http",
    previousRunning: null,
    nextRunning: null,
    closeAfterResponse: () => undefined,
    forceClose: () => undefined,
  };
}

describe("RunningConnections", () => {
  it("adds and counts connections", () => {
    const list = new RunningConnections();
    const [a, b, c] = [connection(1), connection(2), connection(3)];

    list.add(a);
    list.add(b);
    list.add(c);

    expect(list.size).to.equal(3);
    expect(list.toArray().map((item) => item.id)).to.have.members([1, 2, 3]);
  });

  it("deletes head, middle and tail", () => {
    const list = new RunningConnections();
    const items = [1, 2, 3, 4].map(connection);
    for (const item of items) list.add(item);

    list.delete(items[3]);
    list.delete(items[1]);
    list.delete(items[0]);

    expect(list.size).to.equal(1);
    expect(list.toArray()).to.deep.equal([items[2]]);
    expect(items[1].previousRunning).to.equal(null);
    expect(items[1].nextRunning).to.equal(null);
  });

  it("ignores a connection not in it", () => {
    const list = new RunningConnections();
    const member = connection(1);
    list.add(member);

    list.delete(connection(2));
    list.delete(member);
    list.delete(member);

    expect(list.size).to.equal(0);
    expect(list.toArray()).to.deep.equal([]);
  });

  it("snapshots while members leave", () => {
    const list = new RunningConnections();
    const items = [1, 2, 3].map(connection);
    for (const item of items) list.add(item);

    for (const item of list.toArray()) list.delete(item);

    expect(list.size).to.equal(0);
  });
});
