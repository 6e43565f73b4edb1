import TrainingLab
print(tl_get_num_threads())
