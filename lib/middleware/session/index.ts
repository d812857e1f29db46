export * from "./base";
export * from "./client-side";
export * from "./serializer";
export * from "./server-side";
