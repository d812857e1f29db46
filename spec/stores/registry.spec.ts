import { expect } from "chai";

import { ImproperlyConfiguredException } from "../../lib/exceptions";
import {
  defaultStoreFactory,
  MemoryStore,
  StoreRegistry,
  type Store,
  type StoreFactory,
} from "../../lib/stores";

describe("StoreRegistry", () => {
  const created: MemoryStore[] = [];

  function memoryStore(): MemoryStore {
    const store = new MemoryStore({ sweepInterval: null });
    created.push(store);
    return store;
  }

  afterEach(async () => {
    await Promise.all(created.splice(0).map((store) => store.close()));
  });

  describe("get", () => {
    it("creates a MemoryStore by default", async () => {
      const registry = new StoreRegistry();

      const store = registry.get("sessions");
      created.push(store as MemoryStore);

      expect(store).to.be.instanceOf(MemoryStore);
    });

    it("returns the same store twice", () => {
      const registry = new StoreRegistry({ defaultFactory: () => memoryStore() });

      expect(registry.get("sessions")).to.equal(registry.get("sessions"));
    });

    it("creates one store per name", () => {
      const registry = new StoreRegistry({ defaultFactory: () => memoryStore() });

      expect(registry.get("sessions")).to.not.equal(registry.get("cache"));
    });

    it("calls the factory once with the name", () => {
      const names: string[] = [];
      const factory: StoreFactory = (name) => {
        names.push(name);
        return memoryStore();
      };
      const registry = new StoreRegistry({ defaultFactory: factory });

      registry.get("sessions");
      registry.get("sessions");

      expect(names).to.deep.equal(["sessions"]);
    });

    it("rejects a factory result that is no store", () => {
      const registry = new StoreRegistry({
        defaultFactory: () => ({ get: () => null }) as unknown as Store,
      });

      expect(() => registry.get("sessions")).to.throw(
        ImproperlyConfiguredException,
        /defaultFactory\("sessions"\) must be a store, but it lacks the methods set, delete/,
      );
      expect(registry.has("sessions")).to.equal(false);
    });

    it("default factory ignores the name", () => {
      const first = defaultStoreFactory("a");
      const second = defaultStoreFactory("a");
      created.push(first as MemoryStore, second as MemoryStore);

      expect(first).to.be.instanceOf(MemoryStore);
      expect(first).to.not.equal(second);
    });
  });

  describe("register", () => {
    it("registered store is returned", () => {
      const registry = new StoreRegistry({ defaultFactory: () => memoryStore() });
      const store = memoryStore();

      registry.register("sessions", store);

      expect(registry.get("sessions")).to.equal(store);
    });

    it("rejects a taken name", () => {
      const original = memoryStore();
      const registry = new StoreRegistry({ stores: { sessions: original } });

      const register = () => registry.register("sessions", memoryStore());

      expect(register).to.throw(ImproperlyConfiguredException, /"sessions" is already registered/);
      expect(registry.get("sessions")).to.equal(original);
    });

    it("rejects a name that get created", () => {
      const registry = new StoreRegistry({ defaultFactory: () => memoryStore() });
      registry.get("sessions");

      expect(() => registry.register("sessions", memoryStore())).to.throw(
        ImproperlyConfiguredException,
      );
    });

    it("allowOverride replaces the store", () => {
      const registry = new StoreRegistry({ stores: { sessions: memoryStore() } });
      const replacement = memoryStore();

      registry.register("sessions", replacement, { allowOverride: true });

      expect(registry.get("sessions")).to.equal(replacement);
    });

    it("rejects a value that is no store", () => {
      const registry = new StoreRegistry();

      const register = () => registry.register("sessions", {} as Store);

      expect(register).to.throw(ImproperlyConfiguredException, /store must be a store/);
    });

    it("rejects an empty name", () => {
      const registry = new StoreRegistry();

      expect(() => registry.register("", memoryStore())).to.throw(ImproperlyConfiguredException);
    });
  });

  describe("has", () => {
    it("does not create stores", () => {
      let calls = 0;
      const registry = new StoreRegistry({
        defaultFactory: () => {
          calls += 1;
          return memoryStore();
        },
      });

      expect(registry.has("sessions")).to.equal(false);
      expect(calls).to.equal(0);
    });

    it("sees stores that get created", () => {
      const registry = new StoreRegistry({ defaultFactory: () => memoryStore() });

      registry.get("sessions");

      expect(registry.has("sessions")).to.equal(true);
    });
  });

  describe("options", () => {
    it("accepts stores as a Map", () => {
      const store = memoryStore();

      const registry = new StoreRegistry({ stores: new Map([["sessions", store]]) });

      expect(registry.get("sessions")).to.equal(store);
    });

    it("copies the stores mapping", () => {
      const stores: Record<string, Store> = { sessions: memoryStore() };
      const registry = new StoreRegistry({ stores, defaultFactory: () => memoryStore() });

      stores.cache = memoryStore();
      registry.register("later", memoryStore());

      expect(registry.has("cache")).to.equal(false);
      expect(Object.keys(stores)).to.deep.equal(["sessions", "cache"]);
    });

    it("rejects a factory that is no function", () => {
      const create = () =>
        new StoreRegistry({ defaultFactory: "memory" as unknown as StoreFactory });

      expect(create).to.throw(ImproperlyConfiguredException, /defaultFactory must be a function/);
    });

    it("rejects an initial value that is no store", () => {
      const create = () => new StoreRegistry({ stores: { sessions: {} as Store } });

      expect(create).to.throw(
        ImproperlyConfiguredException,
        /stores\["sessions"\] must be a store/,
      );
    });
  });
});
