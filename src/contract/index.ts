// The workflow contract: names, shapes and failure types shared by workflows, activities, worker,
// client and CLI. Pure (the typed search attribute keys, which load @temporalio/common, are in
// ./search-attributes.ts).
export * from './names.ts';
export * from './types.ts';
export * from './failures.ts';
